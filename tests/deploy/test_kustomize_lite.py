"""The Python kustomize subset (kustomize_lite) against small cases and against the real tool.

The other deploy tests trust kustomize_lite to produce what `kubectl apply -k`
would apply. These tests pin each supported rule on a tiny kustomization, and,
when a kustomize or kubectl binary is on PATH (it runs offline), compare both
renderers object for object on the same inputs, including deploy/k8s itself.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml
from deploy_facts import OVERLAYS
from kustomize_lite import UnsupportedKustomization, object_id, render, split_image


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return directory


DEPLOYMENT = """\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      labels: {app.kubernetes.io/name: web}
    spec:
      replicas: 1
      selector:
        matchLabels: {app.kubernetes.io/name: web}
      template:
        metadata:
          labels: {app.kubernetes.io/name: web}
        spec:
          initContainers:
            - name: init
              image: app
          containers:
            - name: web
              image: app:old
              env:
                - {name: A, value: "1"}
                - {name: B, value: "2"}
              ports:
                - {name: http, containerPort: 8080}
              resources:
                requests: {cpu: 10m}
            - name: sidecar
              image: other/sidecar:1.0
"""

SERVICE = """\
    apiVersion: v1
    kind: Service
    metadata:
      name: web
    spec:
      selector: {app.kubernetes.io/name: web}
      ports:
        - {name: http, port: 80, targetPort: http}
"""

NAMESPACE = """\
    apiVersion: v1
    kind: Namespace
    metadata:
      name: placeholder
"""

PDB = """\
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata:
      name: web
    spec:
      maxUnavailable: 1
      selector:
        matchLabels: {app.kubernetes.io/name: web}
"""

SECRET = """\
    apiVersion: v1
    kind: Secret
    metadata:
      name: creds
    stringData: {password: placeholder}
"""


def base_files() -> dict[str, str]:
    return {
        "base/kustomization.yaml": """\
            namespace: shop
            labels:
              - pairs: {app.kubernetes.io/part-of: shop}
                includeSelectors: false
                includeTemplates: true
            resources: [namespace.yaml, web.yaml, pdb.yaml, secret.yaml]
            images:
              - {name: app, newName: registry.example.com/app, newTag: "1.2"}
        """,
        "base/namespace.yaml": NAMESPACE,
        "base/web.yaml": DEPLOYMENT + "---\n" + SERVICE,
        "base/pdb.yaml": PDB,
        "base/secret.yaml": SECRET,
    }


def overlay_files() -> dict[str, str]:
    return {
        **base_files(),
        "overlay/kustomization.yaml": """\
            resources: [../base]
            patches:
              - path: replicas.yaml
                target: {kind: Deployment}
              - path: web.yaml
              - path: pdb.yaml
              - path: drop-secret.yaml
              - patch: |
                  apiVersion: v1
                  kind: Service
                  metadata: {name: web, annotations: {team: shop}}
            images:
              - {name: registry.example.com/app, digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
        """,
        "overlay/replicas.yaml": """\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: ignored-because-of-target}
            spec: {replicas: 3}
        """,
        "overlay/web.yaml": """\
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web}
            spec:
              template:
                spec:
                  containers:
                    - name: web
                      env:
                        - {name: B, value: "20"}
                        - {name: C, value: "3"}
                      resources:
                        requests: {memory: 64Mi}
        """,
        "overlay/pdb.yaml": """\
            apiVersion: policy/v1
            kind: PodDisruptionBudget
            metadata: {name: web}
            spec: {minAvailable: 1, maxUnavailable: null}
        """,
        "overlay/drop-secret.yaml": """\
            apiVersion: v1
            kind: Secret
            metadata: {name: creds}
            $patch: delete
        """,
    }


def by_kind(objects: list[dict]) -> dict[str, dict]:
    return {o["kind"]: o for o in objects}


def test_base_rules(tmp_path: Path) -> None:
    objects = by_kind(render(write(tmp_path, base_files()) / "base"))
    # namespace: set on namespaced objects; the Namespace itself is renamed.
    assert objects["Namespace"]["metadata"] == {"name": "shop", "labels": {"app.kubernetes.io/part-of": "shop"}}
    assert all(o["metadata"].get("namespace") == "shop" for k, o in objects.items() if k != "Namespace")
    # labels: metadata and pod template, never selectors.
    deployment = objects["Deployment"]
    assert deployment["metadata"]["labels"]["app.kubernetes.io/part-of"] == "shop"
    assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "shop"
    assert deployment["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "web"}
    assert objects["Service"]["spec"]["selector"] == {"app.kubernetes.io/name": "web"}
    assert objects["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "web"}
    # images: by name, tag or no tag, containers and init containers; others untouched.
    pod = deployment["spec"]["template"]["spec"]
    assert pod["initContainers"][0]["image"] == "registry.example.com/app:1.2"
    assert [c["image"] for c in pod["containers"]] == ["registry.example.com/app:1.2", "other/sidecar:1.0"]


def test_overlay_rules(tmp_path: Path) -> None:
    objects = by_kind(render(write(tmp_path, overlay_files()) / "overlay"))
    assert "Secret" not in objects  # $patch: delete
    deployment = objects["Deployment"]
    assert deployment["spec"]["replicas"] == 3  # target patch, its own name ignored
    web = deployment["spec"]["template"]["spec"]["containers"][0]
    # env merged by name: B replaced, C added, A kept; the patch's items come
    # first, as kustomize orders them. Maps merge key by key.
    assert web["env"] == [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}, {"name": "A", "value": "1"}]
    assert web["resources"] == {"requests": {"cpu": "10m", "memory": "64Mi"}}
    assert web["ports"] == [{"name": "http", "containerPort": 8080}]
    assert deployment["spec"]["template"]["spec"]["containers"][1]["name"] == "sidecar"
    assert web["image"] == (
        "registry.example.com/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )
    # null deletes a key.
    assert objects["PodDisruptionBudget"]["spec"] == {
        "minAvailable": 1,
        "selector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
    }
    # Inline patch merges metadata other than the name.
    assert objects["Service"]["metadata"]["annotations"] == {"team": "shop"}
    assert objects["Service"]["metadata"]["namespace"] == "shop"


@pytest.mark.parametrize(
    ("kustomization", "message"),
    [
        ("resources: [a.yaml]\ncommonAnnotations: {x: y}\n", "commonAnnotations"),
        ("resources: [a.yaml]\nconfigMapGenerator: [{name: c, literals: [a=b]}]\n", "configMapGenerator"),
        ("resources: [a.yaml]\nlabels: [{pairs: {a: b}, includeSelectors: true}]\n", "includeSelectors"),
        ("resources: [https://example.com/x.yaml]\n", "remote"),
        (
            "resources: [a.yaml]\npatches: [{path: p.yaml, target: {labelSelector: a=b}}]\n",
            "labelSelector",
        ),
    ],
)
def test_refuses_what_it_does_not_implement(tmp_path: Path, kustomization: str, message: str) -> None:
    write(
        tmp_path,
        {
            "kustomization.yaml": kustomization,
            "a.yaml": SECRET,
            "p.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\n",
        },
    )
    with pytest.raises(UnsupportedKustomization, match=message):
        render(tmp_path)


def test_duplicate_objects_and_unmatched_patches_are_errors(tmp_path: Path) -> None:
    write(tmp_path / "dup", {"kustomization.yaml": "resources: [a.yaml, b.yaml]\n", "a.yaml": SECRET, "b.yaml": SECRET})
    with pytest.raises(ValueError, match="already registered"):
        render(tmp_path / "dup")
    write(
        tmp_path / "nomatch",
        {
            "kustomization.yaml": "resources: [a.yaml]\npatches: [{path: p.yaml}]\n",
            "a.yaml": SECRET,
            "p.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: other}\nstringData: {a: b}\n",
        },
    )
    with pytest.raises(ValueError, match="matches no object"):
        render(tmp_path / "nomatch")


@pytest.mark.parametrize(
    ("image", "parts"),
    [
        ("app", ("app", None, None)),
        ("app:1.0", ("app", "1.0", None)),
        ("registry:5000/team/app", ("registry:5000/team/app", None, None)),
        ("registry:5000/team/app:2", ("registry:5000/team/app", "2", None)),
        ("app@sha256:abc", ("app", None, "sha256:abc")),
        ("app:1@sha256:abc", ("app", "1", "sha256:abc")),
    ],
)
def test_split_image(image: str, parts: tuple) -> None:
    assert split_image(image) == parts


def kustomize_command() -> list[str] | None:
    """A real kustomize: the standalone binary, else the one built into kubectl."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        probe = subprocess.run(["kubectl", "kustomize", "--help"], capture_output=True, timeout=60)
        if probe.returncode == 0:
            return ["kubectl", "kustomize"]
    return None


def real_render(directory: Path) -> list[dict]:
    command = kustomize_command()
    if command is None:
        pytest.skip("no kustomize or kubectl on PATH to compare with")
    result = subprocess.run([*command, str(directory)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [o for o in yaml.safe_load_all(result.stdout) if o is not None]


def assert_same_objects(mine: list[dict], theirs: list[dict]) -> None:
    mine_by_id = {object_id(o): o for o in mine}
    theirs_by_id = {object_id(o): o for o in theirs}
    assert sorted(mine_by_id) == sorted(theirs_by_id)
    for key, obj in mine_by_id.items():
        assert obj == theirs_by_id[key], f"{key} differs from kustomize's rendering"


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_matches_real_kustomize_on_deploy_k8s(overlay: str) -> None:
    assert_same_objects(render(OVERLAYS[overlay]), real_render(OVERLAYS[overlay]))


@pytest.mark.parametrize("directory", ["base", "overlay"])
def test_matches_real_kustomize_on_the_small_cases(tmp_path: Path, directory: str) -> None:
    write(tmp_path, overlay_files())
    assert_same_objects(render(tmp_path / directory), real_render(tmp_path / directory))
