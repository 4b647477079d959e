"""Evaluates Kubernetes NetworkPolicies for one connection, as the API defines them.

Enough of networking.k8s.io/v1 to answer "may pod A open TCP port P on pod B?"
for the policies in deploy/k8s, so the tests can state the intended
connectivity as a matrix instead of restating the YAML:

- A pod is isolated for ingress (egress) when any policy in its namespace
  selects it and lists Ingress (Egress) in policyTypes; an isolated pod accepts
  (sends) only what at least one of those policies allows. Policies add up.
- A rule with no `from`/`to` matches every peer; with no `ports` every port.
- Peers: podSelector alone means pods of the policy's namespace;
  namespaceSelector alone means every pod of the matching namespaces; both
  together means the matching pods in the matching namespaces; ipBlock matches
  addresses outside the cluster (here: any peer that is not a pod).
- A connection needs both: egress allowed at the source and ingress allowed at
  the destination.

Named ports in policies and endPort are not used in deploy/k8s and raise.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    """A pod (labels, namespace and the namespace's labels) or an outside address."""

    namespace: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    namespace_labels: dict[str, str] = field(default_factory=dict)
    ip: str | None = None  # set for addresses outside the cluster

    @property
    def is_pod(self) -> bool:
        return self.ip is None


def pod(namespace: str, labels: dict[str, str], namespace_labels: dict[str, str] | None = None) -> Endpoint:
    ns_labels = {"kubernetes.io/metadata.name": namespace, **(namespace_labels or {})}
    return Endpoint(namespace=namespace, labels=dict(labels), namespace_labels=ns_labels)


def outside(ip: str) -> Endpoint:
    return Endpoint(ip=ip)


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """metav1.LabelSelector semantics; an empty selector matches everything."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"unknown selector operator {operator}")
    return True


def _peer_matches(peer: Obj, other: Endpoint, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        if other.is_pod:
            return False
        block = peer["ipBlock"]
        address = ipaddress.ip_address(other.ip)
        if address not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(address in ipaddress.ip_network(c) for c in block.get("except") or [])
    if not other.is_pod:
        return False
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], other.namespace_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return selector_matches(peer.get("podSelector"), other.labels)


def _port_matches(ports: list[Obj] | None, protocol: str, port: int) -> bool:
    if not ports:
        return True
    for entry in ports:
        if "endPort" in entry or isinstance(entry.get("port"), str):
            raise NotImplementedError("named ports and endPort are not evaluated")
        if entry.get("protocol", "TCP") == protocol and entry.get("port") in (None, port):
            return True
    return False


def _allowed(policies: list[Obj], subject: Endpoint, other: Endpoint, direction: str, protocol: str, port: int) -> bool:
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    selecting = [
        p
        for p in policies
        if p["metadata"].get("namespace") == subject.namespace
        and selector_matches(p["spec"].get("podSelector"), subject.labels)
        and direction in _policy_types(p)
    ]
    if not selecting:
        return True  # not isolated in this direction
    for policy in selecting:
        for rule in policy["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            if peers and not any(_peer_matches(peer, other, policy["metadata"].get("namespace")) for peer in peers):
                continue
            if _port_matches(rule.get("ports"), protocol, port):
                return True
    return False


def _policy_types(policy: Obj) -> list[str]:
    declared = policy["spec"].get("policyTypes")
    if declared:
        return declared
    # The API's default: Ingress always, Egress when egress rules exist.
    return ["Ingress", *(["Egress"] if policy["spec"].get("egress") else [])]


def connection_allowed(
    policies: list[Obj], source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP"
) -> bool:
    """May `source` open `protocol`/`port` to `destination` under `policies`?"""
    if source.is_pod and not _allowed(policies, source, destination, "Egress", protocol, port):
        return False
    if destination.is_pod and not _allowed(policies, destination, source, "Ingress", protocol, port):
        return False
    return True
