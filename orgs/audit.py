"""The audit trail: services record what they did, explicitly, as they do it.

Only safe facts go in: ids, names, versions, roles, namespaces and field names. A value
never does; ``record`` refuses detail keys outside ``SAFE_DETAIL`` to keep it that way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from orgs.models import AuditEvent, Organization
from pipeline_secrets.core.api.rows import insert

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
    transaction of its own around it. Every read of values passes here, so the statement
    is written once rather than built by the ORM on each call."""
    return insert(event(**kwargs))


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
    """Save events built with ``event`` in one statement."""
    AuditEvent.objects.bulk_create(events)


def events(
    *,
    organization: Organization,
    action: str | None = None,
    target_id: str | None = None,
    actor: str | None = None,
    target_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """The org's events, newest first, optionally narrowed (``action`` may be a prefix,
    ``target_name`` a part of the name; ``since`` included, ``until`` excluded)."""
    qs = AuditEvent.objects.filter(organization=organization)
    if target_name:
        qs = qs.filter(target_name__icontains=target_name)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    if action:
        qs = qs.filter(action__startswith=action)
    if target_id:
        qs = qs.filter(target_id=target_id)
    if actor:
        qs = qs.filter(actor=actor)
    return qs
