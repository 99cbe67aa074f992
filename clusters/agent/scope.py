"""What an agent cluster may receive: its scope, checked and turned into the agent's
standing, which the policy (``orgs.policy.Agent``) answers for."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from clusters.models import Cluster
from clusters.namespaces import MAX_PATTERNS, PATTERN
from orgs import policy

SCOPE_KEYS = ("namespaces", "tags", "secrets")


def standing(cluster: Cluster, namespace: str = "") -> policy.Agent:
    """The agent of ``cluster``, delivering into ``namespace``."""
    scope = cluster.scope or {}
    return policy.Agent(
        organization_id=cluster.organization_id,
        cluster_name=cluster.name,
        namespaces=tuple(scope.get("namespaces") or ()),
        tags=tuple(scope.get("tags") or ()),
        secrets=tuple(scope.get("secrets") or ()),
        namespace=namespace,
    )


def _strings(value: Any, field_name: str, check: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_PATTERNS:
        raise ValidationError({field_name: f"Must be a list of at most {MAX_PATTERNS} items."})
    errors = {
        f"{field_name}.{i}": check[1]
        for i, item in enumerate(value)
        if not isinstance(item, str) or not check[0](item)
    }
    if errors:
        raise ValidationError(errors)
    return sorted(set(value), key=value.index)


CHECKS = {
    "namespaces": (
        lambda item: bool(PATTERN.fullmatch(item)),
        "Must be a namespace name or a pattern (*, ?, [...]).",
    ),
    "tags": (lambda item: 0 < len(item) <= 253 and item.strip() == item, "Must be a tag."),
    "secrets": (
        lambda item: 0 < len(item) <= 253 and item.strip() == item,
        "Must be a secret name.",
    ),
}


def clean_scope(value: Any, field_name: str = "scope") -> dict[str, list[str]]:
    """A scope from a request: ``{"namespaces": [...], "tags": [...], "secrets": [...]}``,
    each key optional (absent: empty); errors on ``scope.<key>.<n>``."""
    if not isinstance(value, dict) or set(value) - set(SCOPE_KEYS):
        raise ValidationError(
            {field_name: "Must be an object with namespaces, tags and secrets lists."}
        )
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, list[str]] = {}
    for key in SCOPE_KEYS:
        try:
            cleaned[key] = _strings(value.get(key, []), f"{field_name}.{key}", CHECKS[key])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return cleaned
