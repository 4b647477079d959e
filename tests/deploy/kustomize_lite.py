"""A small kustomize in Python: exactly the subset deploy/k8s uses.

The tests need the objects `kubectl apply -k` would send, without a kustomize
binary (CI machines may not have one). This renders them. Where a kustomize or
kubectl binary is available, test_kustomize_lite.py renders the same
directories with it and requires identical objects, so the subset below is
checked against the real tool rather than against our reading of its docs.

Supported, in kustomize's own order of operations (kustomize v5,
api/internal/target/kusttarget.go: patches, namespace, labels, images):

- resources: YAML files (several documents allowed) and directories holding a
  kustomization.yaml, rendered recursively first. Duplicate ids are an error.
- patches: strategic-merge patches from `path` or inline `patch`, optionally
  with a `target` (kind, name, group, version, namespace; name is an anchored
  regular expression, as in kustomize). Without a target a patch applies to
  the object with its kind and name. Merge rules:
    maps merge key by key; a null value deletes the key;
    `$patch: delete` on the top level removes the object, `$patch: replace`
    on a map replaces it;
    lists of containers, initContainers, env, volumes, volumeMounts and ports
    merge by their key field (name, mountPath, containerPort or port), as the
    Kubernetes OpenAPI `x-kubernetes-patch-merge-key` says: the patch's items
    first (merged with their base counterparts), then the base items it does
    not mention, which is the order kustomize produces; other lists are
    replaced.
- namespace: set on every namespaced object; a Namespace object is renamed to
  it, as kustomize does; cluster-scoped kinds are left alone.
- labels: `pairs` with includeSelectors false, optionally includeTemplates
  (pod templates of Deployment, ReplicaSet, StatefulSet, DaemonSet, Job and
  CronJob).
- images: name, newName, newTag, digest, on every containers/initContainers/
  ephemeralContainers entry whose image name matches.

Everything else raises UnsupportedKustomization: silently skipping a field
kustomize would apply would make the tests check something other than what
gets deployed.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]


class UnsupportedKustomization(ValueError):
    """The kustomization uses something this renderer does not implement."""


# Kinds kustomize treats as cluster-scoped among the built-in ones we could meet.
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
        "RuntimeClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    }
)

# Kinds whose namespace transformer also rewrites references (subjects,
# webhook service namespaces); we do not implement that, so refuse them.
NEEDS_REFERENCE_REWRITE = frozenset(
    {"RoleBinding", "ClusterRoleBinding", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"}
)

# Where pod templates live, per kind (for labels.includeTemplates).
TEMPLATE_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Deployment": (("spec", "template"),),
    "ReplicaSet": (("spec", "template"),),
    "ReplicationController": (("spec", "template"),),
    "StatefulSet": (("spec", "template"),),
    "DaemonSet": (("spec", "template"),),
    "Job": (("spec", "template"),),
    "CronJob": (("spec", "jobTemplate"), ("spec", "jobTemplate", "spec", "template")),
}

# Strategic-merge keys of the lists we patch (from the Kubernetes OpenAPI
# x-kubernetes-patch-merge-key). `ports` is containerPort inside a container
# and port inside a Service spec.
LIST_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
}

SUPPORTED_FIELDS = frozenset({"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"})


def render(directory: Path | str) -> list[Obj]:
    """The objects `kustomize build <directory>` produces (order not significant)."""
    return _build(Path(directory).resolve(), stack=())


def object_id(obj: Obj) -> tuple[str, str, str, str]:
    """(group, kind, namespace, name): kustomize's notion of one object."""
    group = obj.get("apiVersion", "").rpartition("/")[0] if "/" in obj.get("apiVersion", "") else ""
    meta = obj.get("metadata", {})
    return group, obj["kind"], meta.get("namespace", ""), meta["name"]


def _build(directory: Path, stack: tuple[Path, ...]) -> list[Obj]:
    if directory in stack:
        raise UnsupportedKustomization(f"kustomization cycle through {directory}")
    kustomization = _load_kustomization(directory)
    unknown = set(kustomization) - SUPPORTED_FIELDS
    if unknown:
        raise UnsupportedKustomization(f"{directory}: fields not supported here: {sorted(unknown)}")
    if kustomization.get("kind", "Kustomization") != "Kustomization":
        raise UnsupportedKustomization(f"{directory}: kind {kustomization['kind']} not supported")

    objects: list[Obj] = []
    for entry in kustomization.get("resources", []) or []:
        if "://" in entry or entry.startswith(("github.com/", "git@")):
            raise UnsupportedKustomization(f"{directory}: remote resource {entry}")
        path = (directory / entry).resolve()
        if path.is_dir():
            loaded = _build(path, (*stack, directory))
        elif path.is_file():
            loaded = _load_documents(path)
        else:
            raise FileNotFoundError(f"{directory}: resource {entry} does not exist")
        for obj in loaded:
            _add_unique(objects, obj, f"{directory}: {entry}")

    for patch_entry in kustomization.get("patches", []) or []:
        objects = _apply_patch_entry(objects, patch_entry, directory)
    if "namespace" in kustomization:
        _set_namespace(objects, kustomization["namespace"])
    for label_entry in kustomization.get("labels", []) or []:
        _add_labels(objects, label_entry, directory)
    for image in kustomization.get("images", []) or []:
        _set_image(objects, image, directory)
    return objects


def _load_kustomization(directory: Path) -> Obj:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        candidate = directory / name
        if candidate.is_file():
            loaded = yaml.safe_load(candidate.read_text())
            if not isinstance(loaded, dict):
                raise UnsupportedKustomization(f"{candidate} is not a mapping")
            return loaded
    raise FileNotFoundError(f"no kustomization.yaml in {directory}")


def _load_documents(path: Path) -> list[Obj]:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    for document in documents:
        if not isinstance(document, dict) or "kind" not in document or "metadata" not in document:
            raise ValueError(f"{path}: every document must be a Kubernetes object, got {document!r:.80}")
        if document["kind"].endswith("List"):
            raise UnsupportedKustomization(f"{path}: List objects are not supported")
    return documents


def _add_unique(objects: list[Obj], obj: Obj, where: str) -> None:
    new_id = object_id(obj)
    if any(object_id(existing) == new_id for existing in objects):
        raise ValueError(f"{where}: may not add resource with an already registered id {new_id}")
    objects.append(obj)


# --- patches --------------------------------------------------------------


def _apply_patch_entry(objects: list[Obj], entry: Obj, directory: Path) -> list[Obj]:
    unknown = set(entry) - {"path", "patch", "target"}
    if unknown:
        raise UnsupportedKustomization(f"{directory}: patch fields not supported: {sorted(unknown)}")
    if ("path" in entry) == ("patch" in entry):
        raise ValueError(f"{directory}: a patch needs exactly one of path and patch")
    text = (directory / entry["path"]).read_text() if "path" in entry else entry["patch"]
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise UnsupportedKustomization(f"{directory}: a patch must be one strategic-merge document")
    patch = documents[0]
    if "target" in entry:
        targets = [o for o in objects if _matches_target(o, entry["target"], directory)]
    else:
        targets = [o for o in objects if _matches_patch(o, patch)]
    if not targets:
        raise ValueError(f"{directory}: patch {entry.get('path', '<inline>')} matches no object")
    result: list[Obj] = []
    for obj in objects:
        if not any(obj is target for target in targets):
            result.append(obj)
            continue
        if patch.get("$patch") == "delete":
            continue
        body = {k: v for k, v in patch.items() if k not in ("apiVersion", "kind", "metadata")}
        merged = _merge(obj, body, parent_key=None)
        if "metadata" in patch:
            # The patch's own name only selects the target; other metadata merges.
            meta_patch = {k: v for k, v in patch["metadata"].items() if k not in ("name", "namespace")}
            merged["metadata"] = _merge(merged["metadata"], meta_patch, parent_key="metadata")
        result.append(merged)
    return result


def _matches_patch(obj: Obj, patch: Obj) -> bool:
    if obj["kind"] != patch.get("kind") or obj["metadata"]["name"] != patch.get("metadata", {}).get("name"):
        return False
    patch_namespace = patch.get("metadata", {}).get("namespace")
    if patch_namespace and obj["metadata"].get("namespace") not in (None, patch_namespace):
        return False
    return _group(obj) == _group(patch)


def _matches_target(obj: Obj, target: Obj, directory: Path) -> bool:
    unknown = set(target) - {"kind", "name", "group", "version", "namespace"}
    if unknown:
        raise UnsupportedKustomization(f"{directory}: patch target fields not supported: {sorted(unknown)}")
    if "kind" in target and obj["kind"] != target["kind"]:
        return False
    if "name" in target and not re.fullmatch(target["name"], obj["metadata"]["name"]):
        return False
    if "namespace" in target and obj["metadata"].get("namespace", "") != target["namespace"]:
        return False
    if "group" in target and _group(obj) != target["group"]:
        return False
    if "version" in target and obj["apiVersion"].rpartition("/")[2] != target["version"]:
        return False
    return True


def _group(obj: Obj) -> str:
    api_version = obj.get("apiVersion", "")
    return api_version.rpartition("/")[0]


def _merge(base: Any, patch: Any, parent_key: str | None) -> Any:
    """Strategic merge of `patch` into a copy of `base` (rules in the module doc)."""
    if isinstance(patch, dict):
        directive = patch.get("$patch")
        if directive == "replace":
            return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
        if directive is not None:
            raise UnsupportedKustomization(f"$patch: {directive} is only supported on a whole object")
        for key in patch:
            if key.startswith("$"):
                raise UnsupportedKustomization(f"strategic-merge directive {key} not supported")
        result = copy.deepcopy(base) if isinstance(base, dict) else {}
        for key, value in patch.items():
            if value is None:
                result.pop(key, None)
            elif key in result:
                result[key] = _merge(result[key], value, parent_key=key)
            else:
                result[key] = _merge(None, value, parent_key=key)
        return result
    if isinstance(patch, list):
        merge_key = _list_merge_key(parent_key, patch, base)
        if merge_key is None or not isinstance(base, list):
            return [_merge(None, item, parent_key=None) for item in patch]
        # kustomize (kyaml) orders the result as the patch's items, merged with
        # their base counterparts, followed by the base items the patch does not
        # mention, in their base order.
        result = []
        for item in patch:
            if not isinstance(item, dict) or merge_key not in item:
                raise ValueError(f"list {parent_key}: patch item lacks merge key {merge_key}: {item!r}")
            existing = next((b for b in base if b.get(merge_key) == item[merge_key]), None)
            result.append(_merge(existing, item, parent_key=None))
        mentioned = {item[merge_key] for item in patch}
        result.extend(copy.deepcopy(b) for b in base if b.get(merge_key) not in mentioned)
        return result
    return copy.deepcopy(patch)


def _list_merge_key(parent_key: str | None, patch: list[Any], base: Any) -> str | None:
    if parent_key in LIST_MERGE_KEYS:
        return LIST_MERGE_KEYS[parent_key]
    if parent_key == "ports":
        items = [*patch, *(base if isinstance(base, list) else [])]
        if items and all(isinstance(i, dict) and "containerPort" in i for i in items):
            return "containerPort"
        if items and all(isinstance(i, dict) and "port" in i for i in items):
            return "port"
    return None


# --- namespace, labels, images ---------------------------------------------


def _set_namespace(objects: list[Obj], namespace: str) -> None:
    for obj in objects:
        if obj["kind"] in NEEDS_REFERENCE_REWRITE:
            raise UnsupportedKustomization(f"namespace rewrite of {obj['kind']} references not supported")
        if obj["kind"] == "Namespace":
            obj["metadata"]["name"] = namespace
        elif obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = namespace


def _add_labels(objects: list[Obj], entry: Obj, directory: Path) -> None:
    unknown = set(entry) - {"pairs", "includeSelectors", "includeTemplates"}
    if unknown:
        raise UnsupportedKustomization(f"{directory}: labels fields not supported: {sorted(unknown)}")
    if entry.get("includeSelectors", False):
        raise UnsupportedKustomization(f"{directory}: labels.includeSelectors: true is not supported")
    pairs = {str(k): str(v) for k, v in (entry.get("pairs") or {}).items()}
    for obj in objects:
        obj["metadata"].setdefault("labels", {}).update(pairs)
        if entry.get("includeTemplates", False):
            for path in TEMPLATE_PATHS.get(obj["kind"], ()):
                node = obj
                for key in path:
                    node = node.setdefault(key, {})
                node.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference like registry:5000/a/b:tag@sha256:..."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return name, tag, digest or None


def _set_image(objects: list[Obj], image: Obj, directory: Path) -> None:
    unknown = set(image) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise UnsupportedKustomization(f"{directory}: images fields not supported: {sorted(unknown)}")
    for obj in objects:
        for container in _containers(obj):
            name, tag, digest = split_image(container["image"])
            if name != image["name"]:
                continue
            name = image.get("newName", name)
            if "digest" in image:
                tag, digest = None, image["digest"]
            elif "newTag" in image:
                tag, digest = str(image["newTag"]), None
            container["image"] = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def _containers(node: Any) -> list[Obj]:
    found: list[Obj] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers", "ephemeralContainers") and isinstance(value, list):
                found.extend(c for c in value if isinstance(c, dict) and "image" in c)
            else:
                found.extend(_containers(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_containers(item))
    return found
