"""Temporary access: a viewer (or member) asks for a higher role on one secret, on the
secrets with a tag, or on the whole organization, for a while and with a reason; another
admin approves it (perhaps for less time) or rejects it; an admin may revoke a grant early.

Invariants:
- a grant ends by itself: the policy asks ``access_policy.grant_lifts`` at use, which
  compares each grant's start and expiry with ``clock()`` then (no job ends a grant);
- a grant is asked only when a membership's own role falls short, never lifts an agent or
  the product itself, and never goes above the role an API token is limited to
  (``orgs.policy.granted``);
- nobody decides their own request; an approval may shorten a request, never lengthen it;
- every step is audited (``access.*``) and announced to the org's notification targets, in
  the transaction that makes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit import services as audit
from governance.models import AccessGrant, AccessRequest
from notifications import services as notifications
from orgs import policy
from orgs.models import Membership, Role
from pipeline_secrets.core.errors import ConflictError, NotFoundError
from secrets_app.models import SecretIndex

# What time it is for temporary access: tests replace it to move time without sleeping.
clock: Callable[[], datetime] = timezone.now

MIN_DURATION = timedelta(minutes=15)
MAX_DURATION = timedelta(days=7)
MAX_REASON = 2000
MAX_TAG = 128

EVENTS = {
    "access.requested": "Someone asked for temporary access (admins decide).",
    "access.granted": "Temporary access was granted.",
    "access.rejected": "A request for temporary access was rejected.",
    "access.revoked": "Temporary access was revoked before its expiry.",
}

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(?:\d{1,6}[smhd])+")
_PART = re.compile(r"(\d{1,6})([smhd])")

REQUEST_NOT_FOUND = "No such access request."
GRANT_NOT_FOUND = "No such access grant."


def parse_duration(text: Any) -> timedelta:
    """``4h``, ``90m``, ``1d12h``: ValueError for anything else."""
    value = text.strip() if isinstance(text, str) else ""
    if not _DURATION.fullmatch(value):
        raise ValueError("not a duration")
    return timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in _PART.findall(value)))


def format_duration(seconds: int) -> str:
    """``seconds`` as the shortest text ``parse_duration`` reads back (``1d4h``, ``90s``)."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def scope_text(row: AccessRequest | AccessGrant) -> str:
    """What a request or grant covers, for people: a secret, a tag, the organization."""
    if row.secret_id:
        name = (
            SecretIndex.objects.filter(organization_id=row.organization_id, secret_id=row.secret_id)
            .values_list("name", flat=True)
            .first()
        )
        return f"the secret {name or row.secret_id[:12]}"
    if row.tag:
        return f"the secrets tagged {row.tag}"
    return "the whole organization"


def grant_state(grant: AccessGrant, now: datetime | None = None) -> str:
    """``live``, ``revoked``, ``expired`` or ``scheduled`` at ``now`` (default: ``clock()``)."""
    now = now or clock()
    if grant.revoked_at is not None:
        return "revoked"
    if grant.expires_at <= now:
        return "expired"
    return "live" if grant.starts_at <= now else "scheduled"


# --------------------------------------------------------------------------- selectors


def may_decide(membership: Membership) -> bool:
    return policy.allows(membership, "access.decide")


def request_list(*, membership: Membership, status: str | None = None) -> QuerySet[AccessRequest]:
    """The org's requests for whoever decides them; one's own for anyone else."""
    if status and status not in AccessRequest.Status.values:
        raise ValidationError(
            {"status": f"Choose one of {', '.join(AccessRequest.Status.values)}."}
        )
    found = AccessRequest.objects.for_org(membership.organization).select_related("user")
    if not may_decide(membership):
        found = found.filter(user_id=membership.user_id)
    return found.filter(status=status) if status else found


def request_get(*, membership: Membership, request_id: int) -> AccessRequest:
    found = request_list(membership=membership).filter(pk=request_id).first()
    if found is None:
        raise NotFoundError(REQUEST_NOT_FOUND)
    return found


def grant_list(*, membership: Membership, live: bool = False) -> QuerySet[AccessGrant]:
    """The org's grants for whoever decides them; one's own for anyone else; with ``live``,
    those in force now."""
    found = AccessGrant.objects.for_org(membership.organization).select_related("user")
    if not may_decide(membership):
        found = found.filter(user_id=membership.user_id)
    return found.live(clock()) if live else found


def grant_get(*, membership: Membership, grant_id: int) -> AccessGrant:
    found = grant_list(membership=membership).filter(pk=grant_id).first()
    if found is None:
        raise NotFoundError(GRANT_NOT_FOUND)
    return found


# --------------------------------------------------------------------------- shared steps


def announce(event: str, row: AccessRequest | AccessGrant, subject: str, **audited: Any) -> None:
    """The audit row and the notification of one step, in the caller's transaction."""
    actor = audited.pop("actor")
    audit.record(
        actor=actor,
        action=event,
        organization=row.organization,
        target_type="access_request" if isinstance(row, AccessRequest) else "access_grant",
        target_id=row.pk,
        target_name=row.user.username,
        role=row.role,
        secret=row.secret_id,
        tag=row.tag,
        **audited,
    )
    detail: dict[str, Any] = {"actor": actor, "status": event.partition(".")[2]}
    if row.secret_id:
        detail["secretId"] = row.secret_id
    if isinstance(row, AccessGrant):
        detail["expiresAt"] = row.expires_at
    notifications.notify(organization=row.organization, event=event, subject=subject, detail=detail)


def require_other_decider(actor: Membership, row: AccessRequest | AccessGrant, verb: str) -> None:
    policy.require(actor, "access.decide", row)
    if row.user_id == actor.user_id:
        raise PermissionDenied(f"Another admin must {verb} your own temporary access.")


def bounded_duration(text: Any, *, longest: timedelta, key: str = "duration") -> timedelta:
    """``text`` as a duration between ``MIN_DURATION`` and ``longest``, or ValidationError."""
    try:
        duration = parse_duration(text)
    except ValueError:
        raise ValidationError(
            {key: "Give a duration such as 30m, 4h or 2d (units s, m, h, d)."}
        ) from None
    if not MIN_DURATION <= duration <= longest:
        raise ValidationError(
            {
                key: f"Give a duration from {format_duration(int(MIN_DURATION.total_seconds()))} "
                f"to {format_duration(int(longest.total_seconds()))}."
            }
        )
    return duration


# --------------------------------------------------------------------------- services


def checked_scope(membership: Membership, secret_id: Any, tag: Any) -> tuple[str, str]:
    """(secret id, tag) of a request: at most one, the secret one of the org's."""
    secret_id = secret_id.strip() if isinstance(secret_id, str) else ""
    tag = tag.strip() if isinstance(tag, str) else ""
    if secret_id and tag:
        raise ValidationError({"tag": "Ask for one secret or one tag, not both."})
    if len(tag) > MAX_TAG:
        raise ValidationError({"tag": f"A tag has at most {MAX_TAG} characters."})
    if (
        secret_id
        and not SecretIndex.objects.filter(
            organization_id=membership.organization_id, secret_id=secret_id
        ).exists()
    ):
        raise ValidationError({"secretId": "No such secret in this organization."})
    return secret_id, tag


def checked_role(membership: Membership, role: Any) -> str:
    if role not in Role.values:
        raise ValidationError({"role": f"Choose one of {', '.join(Role.values)}."})
    if not Role.rank(role) > Role.rank(membership.role):
        raise ValidationError(
            {"role": f"Ask for a role above yours ({membership.role}); {role} is not."}
        )
    return str(role)


def access_request_create(
    *, actor: Membership, role: Any, duration: Any, reason: Any, secret_id: Any = "", tag: Any = ""
) -> AccessRequest:
    """Ask for ``role`` on a secret, a tag or (neither) the organization for ``duration``
    (15m to 7d) with a ``reason``; admins are notified. ValidationError names each bad field."""
    policy.require(actor, "access.request")
    role = checked_role(actor, role)
    secret_id, tag = checked_scope(actor, secret_id, tag)
    length = bounded_duration(duration, longest=MAX_DURATION)
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"Say why, in 1 to {MAX_REASON} characters."})
    with transaction.atomic():
        row = AccessRequest.objects.create(
            organization=actor.organization,
            user=actor.user,
            role=role,
            secret_id=secret_id,
            tag=tag,
            duration_seconds=int(length.total_seconds()),
            reason=reason,
            created_at=clock(),
        )
        subject = (
            f"{actor.user.username} asks for {role} on {scope_text(row)} "
            f"for {format_duration(row.duration_seconds)}"
        )
        announce(
            "access.requested",
            row,
            subject,
            actor=actor.user.username,
            ttl=row.duration_seconds,
            reason=reason,
        )
    return row


def pending(row: AccessRequest) -> AccessRequest:
    """``row`` locked for a decision; ConflictError once decided."""
    locked = AccessRequest.objects.select_for_update().select_related("user", "organization")
    current = locked.get(pk=row.pk)
    if current.status != AccessRequest.Status.PENDING:
        raise ConflictError(f"This request is already {current.status}.")
    return current


def access_request_approve(
    *, actor: Membership, access_request: AccessRequest, duration: Any = None
) -> AccessGrant:
    """Grant the request from now on, for its duration or a shorter ``duration``; the
    requester is notified. Nobody approves their own request."""
    require_other_decider(actor, access_request, "approve")
    requested = timedelta(seconds=access_request.duration_seconds)
    length = requested
    if duration not in (None, ""):
        length = bounded_duration(duration, longest=max(requested, MIN_DURATION))
    with transaction.atomic():
        row = pending(access_request)
        if not Membership.objects.filter(
            user_id=row.user_id, organization=row.organization
        ).exists():
            raise ConflictError(f"{row.user.username} is no longer a member of the organization.")
        now = clock()
        row.status = AccessRequest.Status.APPROVED
        row.decided_at = now
        row.decided_by = actor.user.username
        row.save(update_fields=["status", "decided_at", "decided_by"])
        grant = AccessGrant.objects.create(
            organization=row.organization,
            user=row.user,
            role=row.role,
            secret_id=row.secret_id,
            tag=row.tag,
            reason=row.reason,
            granted_by=actor.user.username,
            request=row,
            starts_at=now,
            expires_at=now + length,
        )
        subject = (
            f"{actor.user.username} granted {row.user.username} {row.role} on "
            f"{scope_text(row)} until {grant.expires_at:%Y-%m-%d %H:%M} UTC"
        )
        announce(
            "access.granted",
            grant,
            subject,
            actor=actor.user.username,
            username=row.user.username,
            ttl=int(length.total_seconds()),
            expiresAt=grant.expires_at.isoformat(),
        )
    return grant


def access_request_reject(*, actor: Membership, access_request: AccessRequest) -> AccessRequest:
    """Refuse the request; the requester is notified."""
    require_other_decider(actor, access_request, "reject")
    with transaction.atomic():
        row = pending(access_request)
        row.status = AccessRequest.Status.REJECTED
        row.decided_at = clock()
        row.decided_by = actor.user.username
        row.save(update_fields=["status", "decided_at", "decided_by"])
        subject = f"{actor.user.username} rejected {row.user.username}'s request for {row.role}"
        announce("access.rejected", row, subject, actor=actor.user.username)
    return row


def access_grant_revoke(*, actor: Membership, grant: AccessGrant) -> AccessGrant:
    """End a live grant now; ConflictError when it has already ended."""
    policy.require(actor, "access.decide", grant)
    with transaction.atomic():
        row = AccessGrant.objects.select_for_update().select_related("user", "organization")
        current = row.get(pk=grant.pk)
        state = grant_state(current)
        if state in ("revoked", "expired"):
            raise ConflictError(
                f"This grant has already {'ended' if state == 'expired' else 'been revoked'}."
            )
        current.revoked_at = clock()
        current.revoked_by = actor.user.username
        current.save(update_fields=["revoked_at", "revoked_by"])
        subject = f"{actor.user.username} revoked {current.user.username}'s {current.role} access"
        announce(
            "access.revoked",
            current,
            subject,
            actor=actor.user.username,
            username=current.user.username,
        )
    return current


def member_notes(organization: Any) -> dict[int, list[str]]:
    """The Members page's note on each member holding a live grant: which role, on what,
    until when."""
    notes: dict[int, list[str]] = {}
    live = list(AccessGrant.objects.for_org(organization).live(clock()).order_by("expires_at"))
    names = dict(
        SecretIndex.objects.for_org(organization)
        .filter(secret_id__in={g.secret_id for g in live if g.secret_id})
        .values_list("secret_id", "name")
    )
    for grant in live:
        on = "the organization"
        if grant.tag:
            on = f"tag {grant.tag}"
        elif grant.secret_id:
            on = names.get(grant.secret_id, "a deleted secret")
        until = grant.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        notes.setdefault(grant.user_id, []).append(
            f"{grant.role} on {on} until {until} (temporary)"
        )
    return notes
