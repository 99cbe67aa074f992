"""Where in a cluster members may act: the cluster's namespace rule.

Each cluster holds allow and deny patterns (``fnmatch``: ``*``, ``?``, ``[...]``) over
namespace names; a namespace is inside the rule when it matches an allow pattern and no
deny pattern. The default allows every namespace except Kubernetes' own (``kube-system``,
``kube-public``, ``kube-node-lease``). The policy (``orgs.policy``) asks for the admin role
to install, uninstall or name workloads to restart outside the rule (``namespace_rule``,
registered in ``ClustersConfig.ready``); admins edit the rule (``cluster.manage``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

from audit import services as audit
from clusters.models import DEFAULT_NAMESPACE_DENY, Cluster
from orgs import policy
from orgs.models import Role

NAMESPACE_ACTIONS = frozenset({"cluster.install", "cluster.uninstall", "cluster.restart"})
MAX_PATTERNS = 50
# A namespace name (a DNS-1123 label).
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# A pattern: what a namespace name holds, plus fnmatch's wildcards.
PATTERN = re.compile(r"^[a-z0-9\-*?\[\]!]{1,63}$")


@dataclass(frozen=True)
class InNamespace:
    """The object of an action done in one namespace of a cluster."""

    cluster: Cluster
    namespace: str


def validate_label(value: Any, field_name: str) -> str:
    """``value`` when it is a DNS-1123 label (a namespace's or a cluster's name), else a
    ValidationError on ``field_name``."""
    if not isinstance(value, str) or not DNS1123_LABEL.fullmatch(value):
        raise ValidationError(
            {
                field_name: "Must be a DNS-1123 label: 1-63 lowercase letters, digits and '-', "
                "starting and ending with a letter or digit."
            }
        )
    return value


def audit_cluster(actor: policy.Actor, action: str, cluster: Cluster, **detail: Any) -> None:
    """An audit event about ``cluster``, as ``actor``."""
    audit.record(
        actor=policy.actor_name(actor),
        action=action,
        organization=cluster.organization,
        target_type="cluster",
        target_id=cluster.pk,
        target_name=cluster.name,
        **detail,
    )


def allowed(cluster: Cluster, namespace: str) -> bool:
    """Whether ``namespace`` is inside the cluster's rule."""
    allow = cluster.namespace_allow or []
    deny = cluster.namespace_deny or []
    return any(fnmatchcase(namespace, p) for p in allow) and not any(
        fnmatchcase(namespace, p) for p in deny
    )


def namespace_rule(action: str, obj: Any) -> str | None:
    """The object rule registered for ``cluster.``: outside the rule needs admin."""
    if action in NAMESPACE_ACTIONS and isinstance(obj, InNamespace):
        return None if allowed(obj.cluster, obj.namespace) else Role.ADMIN
    return None


def require_in(
    actor: policy.Actor, action: str, cluster: Cluster, namespace: str, field: str = "namespace"
) -> None:
    """PermissionDenied unless ``actor`` may do ``action`` in ``namespace``; its message
    starts with the request's ``field`` that named the namespace (or the workloads)."""
    standing = policy.standing_of(actor, cluster.organization)
    target = InNamespace(cluster, namespace)
    if policy.allows(standing, action, target):
        return
    if isinstance(standing, policy.System) or allowed(cluster, namespace):
        policy.require(standing, action, target)  # refused for its action's own role
    role = getattr(standing, "role", "")
    raise PermissionDenied(
        f"{field}: the namespace {namespace} is outside the namespace rule of cluster "
        f"{cluster.name}; acting there needs the admin role in {cluster.organization.name}; "
        f"you are {role}."
    )


def _patterns(value: Any, field_name: str) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_PATTERNS:
        raise ValidationError({field_name: f"Must be a list of at most {MAX_PATTERNS} patterns."})
    errors = {
        f"{field_name}.{i}": "Must be a namespace name or a pattern (*, ?, [...])."
        for i, item in enumerate(value)
        if not isinstance(item, str) or not PATTERN.fullmatch(item)
    }
    if errors:
        raise ValidationError(errors)
    return sorted(set(value), key=value.index)


def rule_of(cluster: Cluster) -> dict[str, list[str]]:
    return {"allow": list(cluster.namespace_allow), "deny": list(cluster.namespace_deny)}


def set_rule(*, actor: policy.Actor, cluster: Cluster, allow: Any, deny: Any) -> Cluster:
    """Replace the cluster's namespace rule (admins); field errors on ``allow.<n>`` /
    ``deny.<n>``; audited (``cluster.namespaces``) with the patterns."""
    policy.require(policy.standing_of(actor, cluster.organization), "cluster.manage", cluster)
    allow_list = _patterns(["*"] if allow is None else allow, "allow")
    deny_list = _patterns(list(DEFAULT_NAMESPACE_DENY) if deny is None else deny, "deny")
    cluster.namespace_allow, cluster.namespace_deny = allow_list, deny_list
    cluster.save(update_fields=["namespace_allow", "namespace_deny"])
    audit_cluster(
        actor, "cluster.namespaces", cluster, patterns={"allow": allow_list, "deny": deny_list}
    )
    return cluster
