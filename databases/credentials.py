"""Credentials on demand: issued by the engine to a member, listed (never with a password),
revoked; every step audited. A credential's password is returned to its caller once and
kept nowhere by the product."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from databases import targets
from databases.models import DatabaseLease, DatabaseRole
from databases.services import audit, refused
from orgs import policy
from orgs.models import Organization
from pipeline_secrets.core.errors import NotFoundError
from secrets_app.vault import database as vault_db


@dataclass(frozen=True)
class Issued:
    """A lease row and the password issued with it (for its caller, once)."""

    lease: DatabaseLease
    password: str

    def __repr__(self) -> str:
        return f"Issued(lease={self.lease!r})"


def issue_for(role: DatabaseRole, *, by: str, purpose: str = DatabaseLease.Purpose.ISSUE) -> Issued:
    """New credentials of ``role`` from the engine, recorded as a lease (no policy check:
    callers have asked it)."""
    connection = role.connection
    targets.check(connection.host, connection.port)
    try:
        credential = vault_db.issue(role.vault_name)
    except vault_db.EngineRefusedError as exc:
        raise refused(exc, "role") from None
    now = timezone.now()
    lease = DatabaseLease(
        organization_id=role.organization_id,
        role=role,
        vault_lease_id=credential.lease_id,
        username=credential.username,
        issued_by=by,
        purpose=purpose,
        issued_at=now,
        expires_at=now + timedelta(seconds=credential.lease_seconds),
        max_expires_at=now + timedelta(seconds=role.max_ttl),
    )
    try:
        lease.save()
    except Exception:
        vault_db.revoke(credential.lease_id)  # no row, no user: nothing is left behind
        raise
    return Issued(lease=lease, password=credential.password)


def issue(*, actor: policy.Actor, role: DatabaseRole) -> Issued:
    """Credentials of ``role`` for ``actor`` (member), audited."""
    policy.require(policy.standing_of(actor, role.organization), "database.credentials", role)
    with transaction.atomic():
        issued = issue_for(role, by=policy.actor_name(actor))
        audit(
            actor,
            "database.credentials",
            role.organization,
            role,
            username=issued.lease.username,
            expiresAt=issued.lease.expires_at.isoformat(),
        )
    return issued


def leases(*, actor: policy.Actor, role: DatabaseRole) -> QuerySet[DatabaseLease]:
    """The live leases of ``role``, newest first."""
    policy.require(policy.standing_of(actor, role.organization), "database.leases", role)
    return role.leases.live()


def lease_get(*, organization: Organization, public_id: str) -> DatabaseLease:
    found = (
        DatabaseLease.objects.for_org(organization)
        .select_related("role__connection")
        .filter(public_id=public_id)
        .first()
    )
    if found is None:
        raise NotFoundError("No such lease.")
    return found


def revoke_now(lease: DatabaseLease, *, actor: policy.Actor) -> None:
    """Revoke ``lease`` in the engine (the user is dropped) and record it; a refusal of the
    engine (the database rejected the revocation) is a field error, nothing recorded."""
    try:
        vault_db.revoke(lease.vault_lease_id)
    except vault_db.EngineRefusedError as exc:
        raise refused(exc, "leaseId") from None
    lease.revoked_at = timezone.now()
    lease.revoked_by = policy.actor_name(actor)
    lease.save(update_fields=["revoked_at", "revoked_by"])
    audit(actor, "database.revoke", lease.organization, lease.role, username=lease.username)


def revoke(*, actor: policy.Actor, organization: Organization, public_id: str) -> DatabaseLease:
    """Revoke a lease of ``organization`` (an installed copy's only through its uninstall)."""
    lease = lease_get(organization=organization, public_id=public_id)
    policy.require(policy.standing_of(actor, organization), "database.revoke", lease)
    if lease.revoked_at is not None:
        return lease
    if lease.purpose == DatabaseLease.Purpose.INSTALL:
        raise ValidationError(
            {"leaseId": "This credential is installed in a cluster: uninstall it instead."}
        )
    with transaction.atomic():
        revoke_now(lease, actor=actor)
    return lease
