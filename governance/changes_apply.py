"""Approving a change request, and applying it once approved enough.

The change is applied by the product (an ``ApprovedChange`` standing, which no hold rule
holds again) through the one write path, check-and-set on the version the request was made
against, with the request and its requester in the write's audit event. A secret changed
(or deleted) meanwhile makes the request ``failed``; nothing is written then.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from clusters.models import Cluster
from clusters.services import InstallQuery, install
from governance import changes
from governance.models import Approval, ChangeRequest
from governance.protection import ApprovedChange, protection_of
from orgs import policy
from orgs.models import Membership, Organization
from pipeline_secrets.core.errors import AppError, ConflictError
from secrets_app import schedule, vault
from secrets_app.selectors import secret_get
from secrets_app.services import secret_delete
from secrets_app.writes import Current, Draft, write_version

logger = logging.getLogger(__name__)


def change_approve(
    *, membership: Membership, organization: Organization, change_id: int, now: datetime
) -> ChangeRequest:
    """Record an admin's approval; apply the change once enough admins other than its
    requester approved it. The requester's own approval is refused (403)."""
    policy.require(membership, "change.decide")
    name = policy.actor_name(membership)
    changes.expire_if_due(organization, change_id, now)
    with transaction.atomic():
        item = changes.locked_pending(organization, change_id, now)
        if item.requester_id == membership.user_id:
            raise PermissionDenied("You requested this change: another admin must approve it.")
        try:
            with transaction.atomic():
                Approval.objects.create(
                    change_request=item, approver=membership.user, approved_by=name, created_at=now
                )
        except IntegrityError:
            raise ConflictError("You have already approved this change request.") from None
        changes.record(name, "change.approve", item)
        count = item.approvals.count()
        ready = count >= protection_of(organization).required_approvals
        if ready:
            item.decided_at, item.decided_by = now, name
            item.save(update_fields=["decided_at", "decided_by"])
    if ready:
        apply(item, now)
    item.refresh_from_db()
    return item


def apply(item: ChangeRequest, now: datetime) -> None:
    """Carry out an approved request; record ``applied`` or ``failed`` with the reason."""
    applier = ApprovedChange(
        reason=f"change request {item.pk}",
        change_request_id=item.pk,
        requested_by=item.requested_by,
    )
    try:
        version = _carry_out(item, applier, now)
    except Exception as exc:
        logger.warning("change request %s failed: %s", item.pk, type(exc).__name__)
        _failed(item, exc)
        return
    item.status = ChangeRequest.Status.APPLIED
    item.applied_version = version
    item.save(update_fields=["status", "applied_version"])
    changes.record("system", "change.applied", item, version=version or item.base_version)
    changes.announce(item, "change.decided", f"{item.kind} of {item.secret_name} applied", "system")
    changes.drop_held(item)


def _failed(item: ChangeRequest, exc: Exception) -> None:
    if isinstance(exc, AppError):
        reason = exc.detail
    elif isinstance(exc, ValidationError):
        reason = "the held values no longer pass validation"
    else:
        reason = f"internal error ({type(exc).__name__}); check the secret's versions"
    if isinstance(exc, ConflictError):
        reason = (
            f"The secret changed since this request was made (at version {item.base_version})"
            f": nothing was applied; make the change again. ({exc.detail})"
        )
    item.status = ChangeRequest.Status.FAILED
    item.last_error = reason[:1000]
    item.save(update_fields=["status", "last_error"])
    changes.record("system", "change.failed", item)
    changes.announce(item, "change.decided", f"{item.kind} of {item.secret_name} failed", "system")
    changes.drop_held(item)


def _install(item: ChangeRequest, applier: ApprovedChange) -> None:
    """Install the secret into the namespace the request names, as asked."""
    target = item.proposal.get("install") or {}
    cluster = Cluster.objects.for_org(item.organization).filter(pk=target.get("cluster", 0)).first()
    if cluster is None:
        raise ConflictError("The cluster of this install is gone.")
    results = install(
        actor=applier,
        cluster=cluster,
        namespace=target.get("namespace"),
        query=InstallQuery(ids=[item.secret_id]),
        overwrite=bool(target.get("overwrite")),
        ttl=target.get("ttl"),
        workload_list=target.get("workloads"),
    )
    failed = [result.error for result in results if result.status == "failed"]
    if failed or not results:
        raise ConflictError(f"The install failed: {failed[0] if failed else 'nothing selected'}")


def _carry_out(item: ChangeRequest, applier: ApprovedChange, now: datetime) -> int | None:
    organization = item.organization
    if item.kind == ChangeRequest.Kind.INSTALL:
        _install(item, applier)
        return None
    if item.kind == ChangeRequest.Kind.DELETE:
        row = secret_get(organization=organization, secret_id=item.secret_id)
        if row.version != item.base_version:
            raise ConflictError(f"the secret is now at version {row.version}")
        secret_delete(actor=applier, organization=organization, secret_id=item.secret_id)
        return None
    held = vault.read(item.held_path) if item.held_path else None
    if held is None:
        raise ConflictError("The held values are gone from Vault; make the change again.")
    proposed = held.data
    detail: dict[str, Any] = {"changeRequest": item.pk, "requestedBy": item.requested_by}

    def compose(current: Current | None) -> Draft:
        assert current is not None
        rotation = schedule.KEEP
        if item.proposal.get("rotation"):
            every = item.proposal.get("every")
            rotation = schedule.clean_rotation({"every": every} if every else None, current.stype)
        values = dict(proposed.get("values") or {})
        return Draft(
            values=values,
            tags=list(proposed.get("tags") or []),
            expires_at=current.stype.expiry(values),
            rotation=rotation,
            now=now,
            detail=detail,
        )

    write = write_version(
        actor=applier,
        organization=organization,
        secret_id=item.secret_id,
        allow=item.proposal.get("action", "secret.values.write"),
        audit_as=item.proposal.get("auditAs", "secret.update"),
        compose=compose,
        expected_version=item.base_version,
    )
    return write.row.version
