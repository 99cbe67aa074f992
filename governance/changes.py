"""Change requests: changes to protected secrets held until enough admins approve them.

Invariants:
- a held change's proposed values wait in Vault, in a document of the product's own at
  ``orgs/<orgId>/held/<changeRequestId>-<random>`` (``held_path``), never in the database; the row's
  ``proposal`` holds what changes besides values: the keys added, removed and changed (names
  only), the tags before and after, a rollback's source version, a rotation schedule;
- a request is applied once ``required_approvals`` admins other than its requester approved
  it, through the one write path (``changes_apply``), by the product with the requester
  recorded, check-and-set on the version it was made against: a secret changed meanwhile
  makes it ``failed`` (``last_error`` says why) and nothing is written;
- reject, withdraw (by its requester) and expiry (``EXPIRES_AFTER``; an expired request is
  never applied, expired at use or by the periodic job) change nothing and delete the held
  document;
- every step is audited; requesters and approvers are notified (``change.requested``,
  ``change.decided``); no value reaches an audit event, a notification or a log line.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit import services as audit
from governance.models import ChangeRequest
from notifications import services as notifications
from orgs import policy
from orgs.models import Membership, Organization, User
from pipeline_secrets.core.errors import Accepted, ConflictError, NotFoundError
from secrets_app import hooks, vault

logger = logging.getLogger(__name__)

EXPIRES_AFTER = timedelta(days=7)

# A write's audit action -> the kind of change request it makes.
KINDS = {
    "secret.update": ChangeRequest.Kind.UPDATE,
    "secret.rollback": ChangeRequest.Kind.ROLLBACK,
    "secret.rotate": ChangeRequest.Kind.ROTATE,
    "secret.renew": ChangeRequest.Kind.ROTATE,
    "secret.tag.add": ChangeRequest.Kind.TAG,
    "secret.tag.remove": ChangeRequest.Kind.TAG,
    "secret.delete": ChangeRequest.Kind.DELETE,
    "cluster.install": ChangeRequest.Kind.INSTALL,
}
# What a held write answers (202) of its change request (``pipeline_secrets.core.api.schema.HELD``).
HELD_SUMMARY = ("id", "status", "kind", "secretId", "secretName", "requestedBy", "expiresAt")
CHANGE_NOT_FOUND = "No such change request in this organization."


def held_path(organization_id: int, change_request_id: int) -> str:
    """Where a request's proposed document waits; the random part keeps a restored
    database's ids from meeting an older request's document."""
    return f"orgs/{organization_id}/held/{change_request_id}-{secrets.token_hex(6)}"


def _requester(actor: Any) -> User | None:
    if isinstance(actor, Membership):
        return actor.user
    return actor if isinstance(actor, User) else None


def diff(current: dict[str, Any], proposed: dict[str, Any] | None) -> dict[str, Any]:
    """The keys added, removed and changed between two documents (names only) and the
    tags before and after; a delete (``proposed`` None) removes every key."""
    before = dict(current.get("values") or {})
    after = dict((proposed or {}).get("values") or {})
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": sorted(k for k in set(before) & set(after) if before[k] != after[k]),
        "tagsBefore": sorted(current.get("tags") or []),
        "tagsAfter": sorted((proposed or {}).get("tags") or []) if proposed else [],
    }


def _proposal(change: hooks.HeldChange) -> dict[str, Any]:
    """What the request changes besides values: key names, tags, a rollback's source, a
    rotation schedule, or an install's target (cluster, namespace, options)."""
    proposal: dict[str, Any] = {"action": change.action, "auditAs": change.audit_as}
    if change.audit_as == "cluster.install":
        return {**proposal, "install": dict(change.detail), "tagsBefore": change.current["tags"]}
    proposal["delete"] = change.document is None
    proposal.update(diff(change.current, change.document))
    for key in ("source", "every", "tag", "purpose"):
        if key in change.detail:
            proposal[key] = change.detail[key]
    if "every" in change.detail:
        proposal["rotation"] = True
    return proposal


def as_json(item: ChangeRequest) -> dict[str, Any]:
    """The API's view of a change request (no value: the diff names keys only)."""
    approvals = [
        {"by": a.approved_by, "at": a.created_at.isoformat()} for a in item.approvals.all()
    ]
    return {
        "id": item.pk,
        "status": item.status,
        "kind": item.kind,
        "secretId": item.secret_id,
        "secretName": item.secret_name,
        "requestedBy": item.requested_by,
        "baseVersion": item.base_version,
        "proposal": item.proposal,
        "reason": item.reason,
        "createdAt": item.created_at.isoformat(),
        "expiresAt": item.expires_at.isoformat(),
        "decidedAt": item.decided_at.isoformat() if item.decided_at else None,
        "decidedBy": item.decided_by,
        "appliedVersion": item.applied_version,
        "lastError": item.last_error,
        "approvals": approvals,
    }


def record(actor: str, action: str, item: ChangeRequest, **detail: Any) -> None:
    audit.record(
        actor=actor,
        action=action,
        organization=item.organization,
        target_type="change_request",
        target_id=item.pk,
        target_name=item.secret_name,
        secret=item.secret_id,
        kind=item.kind,
        **detail,
    )


def announce(item: ChangeRequest, event: str, subject: str, actor: str) -> None:
    """Tell the org's targets (approvers and requesters read them) of a step."""
    notifications.notify(
        organization=item.organization,
        event=event,
        subject=f"Change request #{item.pk}: {subject}",
        detail={
            "secretId": item.secret_id,
            "secretName": item.secret_name,
            "status": item.status,
            "actor": actor,
            "version": item.base_version,
        },
    )


def _already_held(change: hooks.HeldChange, name: str) -> ChangeRequest | None:
    """The product's own pending request for the same change (a scheduled rotation that
    is retried while held makes no second request)."""
    if _requester(change.actor) is not None:
        return None
    return (
        ChangeRequest.objects.for_org(change.organization)
        .filter(
            secret_id=change.secret_id,
            status=ChangeRequest.Status.PENDING,
            requested_by=name,
            kind=KINDS.get(change.audit_as, ChangeRequest.Kind.UPDATE),
        )
        .first()
    )


def _accepted(item: ChangeRequest) -> Accepted:
    return Accepted(
        f"The change to {item.secret_name} is held for approval as change request #{item.pk}.",
        {"changeRequest": {key: as_json(item)[key] for key in HELD_SUMMARY}},
    )


def keep_held(change: hooks.HeldChange) -> None:
    """The ``hooks.hold`` of governance: record the request, keep the proposed document in
    Vault, audit and announce it; raise ``Accepted`` (202) naming it."""
    name = policy.actor_name(change.actor)
    existing = _already_held(change, name)
    if existing is not None:
        raise _accepted(existing)
    now = timezone.now()
    with transaction.atomic():
        item = ChangeRequest.objects.create(
            organization=change.organization,
            secret_id=change.secret_id,
            secret_name=change.secret_name,
            kind=KINDS.get(change.audit_as, ChangeRequest.Kind.UPDATE),
            requested_by=name,
            requester=_requester(change.actor),
            base_version=change.base_version,
            proposal=_proposal(change),
            reason=change.reason,
            created_at=now,
            expires_at=now + EXPIRES_AFTER,
        )
        if change.document is not None:
            item.held_path = held_path(change.organization.pk, item.pk)
            vault.write(item.held_path, change.document, cas=0)
            item.save(update_fields=["held_path"])
        record(name, "change.request", item, version=change.base_version)
        announce(
            item, "change.requested", f"{item.kind} of {item.secret_name} awaits approval", name
        )
    raise _accepted(item)


def drop_held(item: ChangeRequest) -> None:
    """Delete the held document of a request that ended; a failure is logged (the folder
    holds no secret, and ``purge`` may be run again)."""
    if not item.held_path:
        return
    try:
        vault.delete_all(item.held_path)
    except Exception:
        logger.exception("held document of change request %s not deleted", item.pk)


def change_list(
    *, membership: Membership, organization: Organization, status: str | None = None
) -> list[ChangeRequest]:
    policy.require(membership, "change.list")
    found = ChangeRequest.objects.for_org(organization).prefetch_related("approvals")
    if status and status not in ChangeRequest.Status.values:
        choices = ", ".join(ChangeRequest.Status.values)
        raise ValidationError({"status": f"Must be one of {choices}."})
    if status:
        found = found.filter(status=status)
    return list(found[:500])


def existing_ids(organization: Organization, ids: set[str]) -> set[str]:
    """Which of the request ids (as text) the org has: the activity page links those."""
    wanted = [int(i) for i in ids if i.isdigit()]
    found = ChangeRequest.objects.for_org(organization).filter(pk__in=wanted)
    return {str(pk) for pk in found.values_list("pk", flat=True)}


def detail_url(organization: Organization, change_id: str) -> str:
    return reverse("governance:change", args=[organization.pk, int(change_id)])


def pending_count(membership: Membership) -> int:
    """Pending requests of the membership's organization (the tab's count)."""
    return (
        ChangeRequest.objects.filter(
            organization_id=membership.organization_id, status=ChangeRequest.Status.PENDING
        )
        .exclude(expires_at__lte=timezone.now())
        .count()
    )


def change_get(
    *, membership: Membership, organization: Organization, change_id: int
) -> ChangeRequest:
    policy.require(membership, "change.list")
    found = ChangeRequest.objects.for_org(organization).filter(pk=change_id).first()
    if found is None:
        raise NotFoundError(CHANGE_NOT_FOUND)
    return found


def end(item: ChangeRequest, status: str, actor: str, now: datetime) -> ChangeRequest:
    """End a pending request without applying it (reject, withdraw, expiry): record,
    audit, announce. The caller drops the held values once this has committed."""
    item.status = status
    item.decided_at = now
    item.decided_by = actor
    item.save(update_fields=["status", "decided_at", "decided_by"])
    record(actor, f"change.{status}", item)
    announce(item, "change.decided", f"{item.kind} of {item.secret_name} {status}", actor)
    return item


def expire_if_due(organization: Organization, change_id: int, now: datetime) -> None:
    """End the request as expired when it is past its expiry and still pending: an expired
    request is never applied, whether the periodic job came by or not."""
    with transaction.atomic():
        item = (
            ChangeRequest.objects.for_org(organization)
            .select_for_update()
            .filter(pk=change_id, status=ChangeRequest.Status.PENDING, expires_at__lte=now)
            .first()
        )
        if item is None:
            return
        end(item, ChangeRequest.Status.EXPIRED, "system", now)
    drop_held(item)


def locked_pending(organization: Organization, change_id: int, now: datetime) -> ChangeRequest:
    """The request, locked, still pending and not expired (else 404 or 409)."""
    item = (
        ChangeRequest.objects.for_org(organization).select_for_update().filter(pk=change_id).first()
    )
    if item is None:
        raise NotFoundError(CHANGE_NOT_FOUND)
    if item.status != ChangeRequest.Status.PENDING or item.expires_at <= now:
        status = item.status if item.expires_at > now else ChangeRequest.Status.EXPIRED
        raise ConflictError(f"Change request #{item.pk} is {status}, no longer pending.")
    if item.decided_at is not None:
        # Approved enough: being applied (``changes_apply``), so decided once.
        raise ConflictError(f"Change request #{item.pk} is approved and being applied.")
    return item


def _close(
    membership: Membership, organization: Organization, change_id: int, now: datetime, status: str
) -> ChangeRequest:
    expire_if_due(organization, change_id, now)
    with transaction.atomic():
        item = locked_pending(organization, change_id, now)
        if status == ChangeRequest.Status.WITHDRAWN and item.requester_id != membership.user_id:
            raise PermissionDenied("Only the requester may withdraw a change request.")
        end(item, status, policy.actor_name(membership), now)
    drop_held(item)
    return item


def change_reject(
    *, membership: Membership, organization: Organization, change_id: int, now: datetime
) -> ChangeRequest:
    policy.require(membership, "change.decide")
    return _close(membership, organization, change_id, now, ChangeRequest.Status.REJECTED)


def change_withdraw(
    *, membership: Membership, organization: Organization, change_id: int, now: datetime
) -> ChangeRequest:
    policy.require(membership, "change.withdraw")
    return _close(membership, organization, change_id, now, ChangeRequest.Status.WITHDRAWN)


def expire_due(now: datetime) -> dict[str, int]:
    """The periodic job: end the pending requests past their expiry."""
    due = ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING, expires_at__lte=now)
    expired = 0
    for item in list(due.select_related("organization")):
        with transaction.atomic():
            claimed = due.select_for_update().filter(pk=item.pk).first()
            if claimed is None:
                continue
            end(claimed, ChangeRequest.Status.EXPIRED, "system", now)
        drop_held(claimed)
        expired += 1
    return {"expired": expired}
