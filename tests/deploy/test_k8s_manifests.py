"""deploy/k8s: every rendered object against the Kubernetes schemas, then what must hold.

Rendering is kustomize_lite (checked against real kustomize in
test_kustomize_lite.py). Schema validation is kubernetes-validate in strict
mode (unknown fields are errors) for the oldest Kubernetes we support (1.31:
native gRPC probes and the preStop sleep action need >= 1.30) and the newest
schema the package ships. The semantic tests then check what a schema cannot:
probes on the right port, hardening, every variable a service needs, secrets
only where they belong, Services and budgets that select the right pods,
NetworkPolicies that give the intended connectivity, production sizing.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

import kubernetes_validate
import pytest
from deploy_facts import (
    MIGRATE_MODULE,
    MUST_AGREE,
    OVERLAYS,
    SECRET_OWNERS,
    SERVICES,
    module_file,
    python_module_of,
)
from kustomize_lite import render, split_image
from netpol import connection_allowed, outside, pod

Obj = dict[str, Any]

NAMESPACE = "interviews"
SCHEMA_VERSIONS = ["1.31.0", kubernetes_validate.latest_version()]
RECRUITING_NAMESPACE_LABELS = {"interviews/client": "recruiting-tools"}


@cache
def rendered(overlay: str) -> tuple[Obj, ...]:
    return tuple(render(OVERLAYS[overlay]))


def objects(overlay: str, kind: str) -> list[Obj]:
    return [copy.deepcopy(o) for o in rendered(overlay) if o["kind"] == kind]


def one(overlay: str, kind: str, name: str) -> Obj:
    found = [o for o in objects(overlay, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{overlay}: expected one {kind} {name}, found {len(found)}"
    return found[0]


def base_secret_keys() -> set[str]:
    # Production removes the placeholder Secret and expects the real one with
    # the same keys, so the base template is the contract for both.
    return set(one("base", "Secret", "interviews-secrets")["stringData"])


def config_data(overlay: str) -> dict[str, str]:
    return one(overlay, "ConfigMap", "interviews-config")["data"]


def pod_spec(workload: Obj) -> Obj:
    return workload["spec"]["template"]["spec"]


def all_containers(workload: Obj) -> list[Obj]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def main_container(deployment: Obj) -> Obj:
    containers = pod_spec(deployment)["containers"]
    assert len(containers) == 1, "one server container per pod"
    return containers[0]


def resolved_env(overlay: str, container: Obj) -> dict[str, str]:
    """The container's environment as the kubelet would build it.

    ConfigMap references resolve to their values; Secret references to
    "<secret:KEY>" (the real values are not in git). A reference to a key that
    does not exist fails here, which the kubelet would only find at pod start.
    """
    config = config_data(overlay)
    secret_keys = base_secret_keys()
    env: dict[str, str] = {}
    assert "envFrom" not in container, "explicit env only: each container gets just what it needs"
    for entry in container.get("env", []):
        name = entry["name"]
        assert name not in env, f"{container['name']}: {name} set twice"
        if "value" in entry:
            env[name] = str(entry["value"])
            continue
        source = entry["valueFrom"]
        if "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            assert ref["name"] == "interviews-config"
            assert ref["key"] in config, f"{container['name']}: ConfigMap has no key {ref['key']}"
            env[name] = config[ref["key"]]
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            assert ref["name"] == "interviews-secrets"
            assert ref["key"] in secret_keys, f"{container['name']}: Secret has no key {ref['key']}"
            env[name] = f"<secret:{ref['key']}>"
        else:
            raise AssertionError(f"{container['name']}: unexpected env source {source}")
    return env


# --- schemas ------------------------------------------------------------------


@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_object_is_valid_for_kubernetes(overlay: str, version: str) -> None:
    errors = []
    for obj in rendered(overlay):
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {error.message} at {list(error.path)}")
    assert not errors, "\n".join(errors)


def test_strict_validation_rejects_a_misspelt_field() -> None:
    # Proof that the validation above can fail: strict mode refuses unknown
    # fields, which is how a typo like `readinessProbes` would otherwise slip by.
    deployment = one("base", "Deployment", "scheduling")
    main_container(deployment)["readinessProbes"] = main_container(deployment).pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, SCHEMA_VERSIONS[0], strict=True)


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_everything_is_in_the_namespace_and_labelled(overlay: str) -> None:
    for obj in rendered(overlay):
        meta = obj["metadata"]
        if obj["kind"] == "Namespace":
            assert meta["name"] == NAMESPACE
            # The pods meet "restricted"; enforcing it refuses a weakened manifest.
            assert meta["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        else:
            assert meta["namespace"] == NAMESPACE, f"{obj['kind']}/{meta['name']}"
        assert meta["labels"]["app.kubernetes.io/part-of"] == "interviews", f"{obj['kind']}/{meta['name']}"


# --- Deployments -------------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_command_runs_a_module_of_this_repository(service: str) -> None:
    deployment = one("base", "Deployment", service)
    module, arguments = python_module_of(main_container(deployment)["command"])
    assert module == SERVICES[service].module and arguments == []
    init = [c for c in pod_spec(deployment).get("initContainers", []) if c["name"] == "migrate"]
    assert len(init) == 1, "migrations run in an init container before the server starts"
    migrate_module, migrate_arguments = python_module_of(init[0]["command"])
    assert (migrate_module, migrate_arguments) == (MIGRATE_MODULE, ["--service", service])
    assert module_file(MIGRATE_MODULE) is not None, f"{MIGRATE_MODULE} is missing from the repository"
    assert module_file(module) is not None, f"{module} is missing from the repository"


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_grpc_probes_target_the_container_port(overlay: str, service: str) -> None:
    facts = SERVICES[service]
    container = main_container(one(overlay, "Deployment", service))
    assert container["ports"] == [{"name": "grpc", "containerPort": facts.port, "protocol": "TCP"}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert probe in container, f"{service}: no {probe}"
        # Native gRPC probe on grpc.health.v1, whole-server status (service "").
        assert container[probe]["grpc"] == {"port": facts.port}, f"{service}: {probe}"
        assert container[probe].get("timeoutSeconds", 1) < container[probe].get("periodSeconds", 10)
    # The process listens where the probes and the Service look.
    env = resolved_env(overlay, container)
    assert int(env.get(facts.port_variable, facts.port)) == facts.port


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
@pytest.mark.parametrize("workload", [*sorted(SERVICES), "migrate-job"])
def test_pods_are_hardened(overlay: str, workload: str) -> None:
    obj = one(overlay, "Job", "interviews-migrate") if workload == "migrate-job" else one(overlay, "Deployment", workload)
    spec = pod_spec(obj)
    security = spec["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] != 0 and security["runAsGroup"] != 0
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    assert spec["serviceAccountName"] == one(overlay, "ServiceAccount", "interviews")["metadata"]["name"]
    for forbidden in ("hostNetwork", "hostPID", "hostIPC"):
        assert not spec.get(forbidden)
    # Pod Security "restricted" allows only these volume types.
    allowed_volumes = {"emptyDir", "configMap", "secret", "projected", "downwardAPI", "persistentVolumeClaim", "ephemeral", "csi"}
    for volume in spec.get("volumes", []):
        assert set(volume) - {"name"} <= allowed_volumes, volume
    mounted = {v["name"] for v in spec.get("volumes", [])}
    for container in all_containers(obj):
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert context["capabilities"] == {"drop": ["ALL"]}, container["name"]
        assert not context.get("privileged")
        assert context.get("runAsUser", security["runAsUser"]) != 0
        # The root filesystem is read-only: /tmp must be a volume.
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        assert "/tmp" in mounts, f"{container['name']}: /tmp is not writable"
        assert set(mounts.values()) <= mounted


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
@pytest.mark.parametrize("workload", [*sorted(SERVICES), "migrate-job"])
def test_resources_are_set(overlay: str, workload: str) -> None:
    obj = one(overlay, "Job", "interviews-migrate") if workload == "migrate-job" else one(overlay, "Deployment", workload)
    for container in all_containers(obj):
        resources = container["resources"]
        # CPU requests drive scheduling and the HPA's utilisation; memory has a
        # limit so a leak kills the pod, not the node.
        assert parse_quantity(resources["requests"]["cpu"]) > 0, container["name"]
        requested = parse_quantity(resources["requests"]["memory"])
        limit = parse_quantity(resources["limits"]["memory"])
        assert 0 < requested <= limit, container["name"]


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_gets_what_it_needs_and_no_one_elses_secrets(overlay: str, service: str) -> None:
    facts = SERVICES[service]
    deployment = one(overlay, "Deployment", service)
    env = resolved_env(overlay, main_container(deployment))
    missing = sorted(facts.required_env - set(env))
    assert not missing, f"{service} lacks {missing}"
    assert facts.database_variables & set(env), f"{service} has no database URL"
    for variable in ("INTERVIEWS_TOKEN_SECRET", *(facts.database_variables & set(env))):
        assert env[variable].startswith("<secret:"), f"{variable} must come from the Secret"
    for secret, owner in SECRET_OWNERS.items():
        if owner != service:
            assert secret not in env, f"{service} must not receive {secret}"
    assert "DATABASE_URL" not in env, "the shared URL would let a service reach the others' databases"
    # Callee addresses name the callee's Service on its port.
    for callee in facts.callees:
        variable = f"{callee.upper()}_ADDRESS"
        if variable in env:
            assert env[variable] == f"{callee}:{SERVICES[callee].port}"
            one(overlay, "Service", callee)
    # The init container migrated, so the server must not do it again (it
    # would run under the probes), and it migrates this service's database.
    assert env["INTERVIEWS_SKIP_MIGRATIONS"] == "1"
    init_env = resolved_env(overlay, pod_spec(deployment)["initContainers"][0])
    assert set(init_env) == {f"{service.upper()}_DATABASE_URL"}
    # The data dir (mail fallback) is a writable volume.
    data_dir = env["INTERVIEWS_DATA_DIR"]
    assert data_dir in {m["mountPath"] for m in main_container(deployment)["volumeMounts"]}


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_invite_organizer_and_sender_agree(overlay: str) -> None:
    services, variables = MUST_AGREE
    envs = [resolved_env(overlay, main_container(one(overlay, "Deployment", s))) for s in services]
    for variable in variables:
        assert {env.get(variable) for env in envs} == {envs[0][variable]}, variable


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_termination_leaves_time_to_drain(overlay: str, service: str) -> None:
    deployment = one(overlay, "Deployment", service)
    container = main_container(deployment)
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = float(resolved_env(overlay, container).get("INTERVIEWS_SHUTDOWN_GRACE_SECONDS", "3"))
    # preStop sleep, then SIGTERM: NOT_SERVING and up to `drain` seconds (+1
    # for the server's own wait) for in-flight calls, before SIGKILL.
    assert pod_spec(deployment)["terminationGracePeriodSeconds"] >= pre_stop + drain + 1 + 5
    strategy = deployment["spec"]["strategy"]
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0, "a rollout must never remove capacity first"


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_container_runs_the_project_image(overlay: str) -> None:
    for workload in [*objects(overlay, "Deployment"), *objects(overlay, "Job")]:
        for container in all_containers(workload):
            name, tag, digest = split_image(container["image"])
            assert name == "registry.example.com/interviews", container["image"]
            assert digest or (tag and tag != "latest"), f"{container['image']}: pin a tag or digest"


# --- Services, autoscalers, budgets -----------------------------------------------


def pods_selected(overlay: str, selector: dict[str, str]) -> list[str]:
    """Names of the workloads (Deployments and the Job) whose pods a selector matches."""
    workloads = [*objects(overlay, "Deployment"), *objects(overlay, "Job")]
    return [
        w["metadata"]["name"]
        for w in workloads
        if all(w["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items())
    ]


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_service_selects_exactly_its_deployment_and_port(overlay: str, service: str) -> None:
    facts = SERVICES[service]
    svc = one(overlay, "Service", service)
    assert svc["spec"]["selector"], "an empty selector would select nothing and need manual endpoints"
    assert pods_selected(overlay, svc["spec"]["selector"]) == [service]
    deployment = one(overlay, "Deployment", service)
    container_ports = main_container(deployment)["ports"]
    (port,) = svc["spec"]["ports"]
    assert port["port"] == facts.port
    target = port["targetPort"]
    assert any(target in (p["name"], p["containerPort"]) for p in container_ports)
    assert deployment["spec"]["selector"]["matchLabels"].items() <= (
        deployment["spec"]["template"]["metadata"]["labels"].items()
    )


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_autoscaler_and_disruption_budget(overlay: str, service: str) -> None:
    deployment = one(overlay, "Deployment", service)
    replicas = deployment["spec"]["replicas"]
    hpa = one(overlay, "HorizontalPodAutoscaler", service)
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}
    assert 1 <= hpa["spec"]["minReplicas"] <= replicas <= hpa["spec"]["maxReplicas"]
    assert hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"  # needs the CPU requests checked above

    pdb = one(overlay, "PodDisruptionBudget", service)
    assert pods_selected(overlay, pdb["spec"]["selector"]["matchLabels"]) == [service]
    budget = {k: pdb["spec"][k] for k in ("minAvailable", "maxUnavailable") if k in pdb["spec"]}
    assert len(budget) == 1, f"a PDB takes exactly one of minAvailable/maxUnavailable, got {budget}"
    # A budget that allows no eviction at the minimum size blocks every node drain.
    if "minAvailable" in budget:
        assert budget["minAvailable"] < hpa["spec"]["minReplicas"]
    else:
        assert budget["maxUnavailable"] >= 1


# --- migration Job, Secret, ConfigMap -------------------------------------------------


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_migration_job(overlay: str) -> None:
    job = one(overlay, "Job", "interviews-migrate")
    (container,) = pod_spec(job)["containers"]
    module, arguments = python_module_of(container["command"])
    assert (module, arguments) == (MIGRATE_MODULE, ["--all"])
    assert module_file(MIGRATE_MODULE) is not None
    assert pod_spec(job)["restartPolicy"] in ("Never", "OnFailure")
    assert job["spec"]["backoffLimit"] >= 1 and job["spec"]["activeDeadlineSeconds"] > 0
    # Exactly the three databases; no token secret, no encryption keys.
    env = resolved_env(overlay, container)
    assert set(env) == {f"{s.upper()}_DATABASE_URL" for s in SERVICES}
    assert pods_selected(overlay, {"app.kubernetes.io/name": "migrate"}) == ["interviews-migrate"]


def test_secret_template_is_complete_and_clearly_a_placeholder() -> None:
    secret = one("base", "Secret", "interviews-secrets")
    referenced = set()
    for overlay in OVERLAYS:
        for workload in [*objects(overlay, "Deployment"), *objects(overlay, "Job")]:
            for container in all_containers(workload):
                for entry in container.get("env", []):
                    ref = entry.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        referenced.add(ref["key"])
    assert referenced == set(secret["stringData"]), "template keys and references must match"
    for key, value in secret["stringData"].items():
        assert "CHANGE-ME" in value, f"{key}: a placeholder must say so"


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_every_setting_in_the_configmap_reaches_a_container(overlay: str) -> None:
    # A key nothing reads is a trap: an operator edits it and nothing changes.
    referenced = set()
    for workload in [*objects(overlay, "Deployment"), *objects(overlay, "Job")]:
        for container in all_containers(workload):
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {}).get("configMapKeyRef")
                if ref:
                    referenced.add(ref["key"])
    assert set(config_data(overlay)) == referenced


def test_production_never_applies_the_placeholder_secret() -> None:
    # `kubectl apply -k overlays/production` would otherwise overwrite the real
    # Secret with CHANGE-ME values.
    assert objects("production", "Secret") == []


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_smtp_is_configured_for_kubernetes(overlay: str) -> None:
    config = config_data(overlay)
    # Without SMTP_HOST invites would be written to an emptyDir and lost.
    assert config["SMTP_HOST"]
    assert config["SMTP_SECURITY"] in ("none", "starttls", "tls")
    assert int(config["SMTP_PORT"]) > 0


# --- NetworkPolicies ---------------------------------------------------------------------


def service_pod(overlay: str, name: str) -> Any:
    workload = one(overlay, "Job", name) if name == "interviews-migrate" else one(overlay, "Deployment", name)
    return pod(NAMESPACE, workload["spec"]["template"]["metadata"]["labels"])


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_default_deny_in_both_directions(overlay: str) -> None:
    deny = one(overlay, "NetworkPolicy", "default-deny")
    assert deny["spec"]["podSelector"] == {}
    assert sorted(deny["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
@pytest.mark.parametrize("service", sorted(SERVICES))
def test_only_the_expected_callers_reach_each_service(overlay: str, service: str) -> None:
    policies = objects(overlay, "NetworkPolicy")
    facts = SERVICES[service]
    target = service_pod(overlay, service)
    for caller in [*SERVICES, "interviews-migrate"]:
        if caller == service:
            continue
        expected = caller in facts.callers
        assert connection_allowed(policies, service_pod(overlay, caller), target, facts.port) is expected, (
            f"{caller} -> {service}: expected {'allowed' if expected else 'denied'}"
        )
        # Even an expected caller gets the gRPC port only.
        assert not connection_allowed(policies, service_pod(overlay, caller), target, 22)
    recruiting_tool = pod("recruiting", {"app": "ats"}, RECRUITING_NAMESPACE_LABELS)
    labelled_local_tool = pod(NAMESPACE, {"interviews/client": "recruiting-tools"})
    for tool in (recruiting_tool, labelled_local_tool):
        assert connection_allowed(policies, tool, target, facts.port) is facts.external_callers, (
            f"recruiting tools -> {service}"
        )
    # Anything else in the cluster, or outside it, is refused.
    strangers = [
        pod("default", {"app": "debug"}),
        pod(NAMESPACE, {"app": "debug"}),
        pod("recruiting", {"app.kubernetes.io/name": "scheduling"}),  # right label, wrong namespace
        outside("203.0.113.7"),
    ]
    for stranger in strangers:
        assert not connection_allowed(policies, stranger, target, facts.port), stranger


@pytest.mark.parametrize("overlay", sorted(OVERLAYS))
def test_egress_allows_what_the_services_call_and_nothing_more(overlay: str) -> None:
    policies = objects(overlay, "NetworkPolicy")
    smtp_port = int(config_data(overlay)["SMTP_PORT"])
    database = outside("10.20.30.40")
    internet = outside("198.51.100.1")
    workloads = [*SERVICES, "interviews-migrate"]
    for name in workloads:
        source = service_pod(overlay, name)
        assert connection_allowed(policies, source, outside("10.96.0.10"), 53, "UDP"), f"{name}: DNS"
        assert connection_allowed(policies, source, database, 5432), f"{name}: PostgreSQL"
        assert not connection_allowed(policies, source, internet, 443), f"{name} must not reach the internet"
        sends_mail = name == "notifications"
        assert connection_allowed(policies, source, internet, smtp_port) is sends_mail, f"{name}: SMTP"
    for name, facts in SERVICES.items():
        for callee, callee_facts in SERVICES.items():
            if callee == name:
                continue
            allowed = connection_allowed(policies, service_pod(overlay, name), service_pod(overlay, callee), callee_facts.port)
            assert allowed is (callee in facts.callees), f"{name} -> {callee}"


def test_the_policy_evaluator_follows_isolation_rules() -> None:
    # The matrices above are only as good as the evaluator. Scheduling may call
    # notifications; without notifications' ingress policy the default deny
    # isolates it and the call is refused; without the default deny as well,
    # nothing selects notifications for ingress and the call is open again.
    policies = objects("base", "NetworkPolicy")
    scheduling, notifications = service_pod("base", "scheduling"), service_pod("base", "notifications")
    assert connection_allowed(policies, scheduling, notifications, 50053)
    without_ingress = [p for p in policies if p["metadata"]["name"] != "notifications-ingress"]
    assert not connection_allowed(without_ingress, scheduling, notifications, 50053)
    without_deny = [p for p in without_ingress if p["metadata"]["name"] != "default-deny"]
    assert connection_allowed(without_deny, scheduling, notifications, 50053)


# --- production ------------------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_production_runs_two_or_more_with_more_resources(service: str) -> None:
    deployment = one("production", "Deployment", service)
    assert deployment["spec"]["replicas"] >= 2
    assert one("production", "HorizontalPodAutoscaler", service)["spec"]["minReplicas"] >= 2
    assert one("production", "PodDisruptionBudget", service)["spec"] == {
        "minAvailable": 1,
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
        "selector": {"matchLabels": {"app.kubernetes.io/name": service}},
    }
    production = main_container(deployment)["resources"]
    base = main_container(one("base", "Deployment", service))["resources"]
    for kind, resource in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory")):
        assert parse_quantity(production[kind][resource]) > parse_quantity(base[kind][resource]), (kind, resource)


# --- helpers ------------------------------------------------------------------------------

_SUFFIXES = {
    "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}


def parse_quantity(quantity: str | int | float) -> float:
    """A Kubernetes resource quantity (100m, 256Mi, 1, 0.5) as a number."""
    match = re.fullmatch(r"([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?", str(quantity))
    assert match, f"not a quantity: {quantity!r}"
    return float(match.group(1)) * _SUFFIXES[match.group(2) or ""]


def test_parse_quantity() -> None:
    assert parse_quantity("100m") == 0.1
    assert parse_quantity("256Mi") == 256 * 2**20
    assert parse_quantity(2) == 2
    with pytest.raises(AssertionError):
        parse_quantity("lots")
