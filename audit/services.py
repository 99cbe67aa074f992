"""The audit trail: services record what they did, explicitly, as they do it (the apps
below this one, which may not import it, report through ``orgs.reporting``).

Only safe facts go in: ids, names, versions, roles, namespaces and field names. A value
never does; ``record`` refuses detail keys outside ``SAFE_DETAIL`` to keep it that way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from audit.models import AuditEvent
from orgs import reporting
from orgs.models import Organization

SAFE_DETAIL = frozenset(
    {
        "version",
        "type",
        "role",
        "fields",
        "namespace",
        "cluster",
        "statuses",
        "tag",
        "count",
        "username",
        "expiresAt",
        "ttl",
        "overwrite",
        "secret",
        "source",
        "purpose",
        "workloads",
        "every",
        "reason",
        "patterns",  # a cluster's namespace rule (names and wildcards)
        "mode",  # a cluster's mode: kubeconfig or agent
        "scope",  # what an agent cluster may receive: namespace patterns, tags, secret names
        "change",  # drift in an agent cluster: edited or deleted
        "repaired",
        "link",  # a share link's public id (never its token)
        "ip",  # the address a share link was opened from
        "justification",  # why someone broke glass: their own words, never a value
        "breakGlass",  # the id of a break-glass event
        "kind",  # a change request's kind (update, rotate, rollback, delete, tag, install)
        "changeRequest",  # a change request's id
        "requestedBy",  # who asked for a change applied after approvals
    }
)


def event(
    *,
    actor: str,
    action: str,
    target_type: str,
    organization: Organization | None = None,
    target_id: str | int = "",
    target_name: str = "",
    **detail: Any,
) -> AuditEvent:
    """An unsaved event; ValueError for detail keys that are not known to be safe."""
    unsafe = set(detail) - SAFE_DETAIL
    if unsafe:
        raise ValueError(f"audit detail keys not allowed: {sorted(unsafe)}")
    return AuditEvent(
        organization=organization,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        # A name for people to read; an address (254) may outgrow the column (253).
        target_name=target_name[: AuditEvent._meta.get_field("target_name").max_length],
        detail=detail,
    )


def record(**kwargs: Any) -> AuditEvent:
    """Save one event (see ``event`` for the arguments) with one INSERT statement: in the
    caller's transaction when there is one, else on its own (autocommit), never in a
    transaction of its own around it (a model without parents saves without a savepoint)."""
    recorded = event(**kwargs)
    recorded.save(force_insert=True)
    reporting.recorded([recorded])
    return recorded


def amend(recorded: AuditEvent, **detail: Any) -> None:
    """Correct the detail of an event just recorded (say, the version a read found)."""
    unsafe = set(detail) - SAFE_DETAIL
    if unsafe:
        raise ValueError(f"audit detail keys not allowed: {sorted(unsafe)}")
    recorded.detail = {**recorded.detail, **detail}
    AuditEvent.objects.filter(pk=recorded.pk).update(detail=recorded.detail)


def withdraw(recorded: AuditEvent) -> None:
    """Take back an event recorded ahead of an act that then did not happen (a read of
    values recorded while Vault answered, and Vault had nothing or failed)."""
    AuditEvent.objects.filter(pk=recorded.pk).delete()


def record_many(events: list[AuditEvent]) -> None:
    """Save events built with ``event`` in one statement (the listeners installed in
    ``orgs.reporting`` hear of them, notifications among them)."""
    AuditEvent.objects.bulk_create(events)
    reporting.recorded(events)


def record_all(events: Iterable[dict[str, Any]]) -> None:
    """Save the events given as ``event``'s keyword arguments, in one statement (what the
    apps below this one report through ``orgs.reporting``)."""
    record_many([event(**given) for given in events])
