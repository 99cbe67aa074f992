"""Reads of the audit trail: an organization's events, and a person's own security log."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from audit.models import AuditEvent
from orgs.models import Organization, User


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


def actors(organization: Organization) -> list[str]:
    """Everyone the trail names, for the actor filter."""
    return list(
        AuditEvent.objects.filter(organization=organization)
        .values_list("actor", flat=True)
        .distinct()
        .order_by("actor")[:500]
    )


def security_events(user: User) -> QuerySet[AuditEvent]:
    """The user's own security log, newest first: sign-ins, failures, lockouts and linked
    identities, recorded outside any organization."""
    return AuditEvent.objects.filter(
        organization__isnull=True, target_type="user", target_id=str(user.pk)
    )
