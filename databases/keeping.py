"""What the worker does for installed credentials, at each periodic round: renew a lease
once half of its TTL is gone, replace the credentials when the role's max TTL nears, revoke
a replaced credential after its grace period, and revoke those whose copies are gone.
A failure is retried at the next round and notified (``database.credentials_failed``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from databases import credentials, installs
from databases.models import DatabaseLease
from notifications import services as notifications
from pipeline_secrets.core.errors import AppError
from secrets_app.vault import database as vault_db

logger = logging.getLogger(__name__)

# Replace credentials when this share of the role's max TTL is left (at least REPLACE_MIN).
REPLACE_SHARE = 0.2
REPLACE_MIN = timedelta(seconds=120)
FAILURES = (AppError, vault_db.EngineRefusedError, ValidationError)


@dataclass
class Round:
    now: datetime
    counts: dict[str, int] = field(
        default_factory=lambda: {"renewed": 0, "replaced": 0, "revoked": 0, "failed": 0}
    )


def install_leases() -> QuerySet[DatabaseLease]:
    return DatabaseLease.objects.filter(
        purpose=DatabaseLease.Purpose.INSTALL, revoked_at__isnull=True
    ).select_related("role__connection", "install", "organization")


def replace_at(lease: DatabaseLease) -> datetime:
    window = max(REPLACE_MIN, timedelta(seconds=lease.role.max_ttl * REPLACE_SHARE))
    window = min(window, timedelta(seconds=lease.role.max_ttl / 2))
    return lease.max_expires_at - window


def renew_at(lease: DatabaseLease) -> datetime:
    return lease.expires_at - timedelta(seconds=lease.role.default_ttl / 2)


def due(now: datetime) -> bool:
    """Whether anything is due (the periodic job's cheap question)."""
    current = install_leases().filter(revoke_after__isnull=True, install__status="active")
    soon = now + timedelta(seconds=max(REPLACE_MIN.total_seconds(), 1))
    return (
        install_leases().filter(revoke_after__lte=now).exists()
        or current.filter(Q(expires_at__lte=soon) | Q(max_expires_at__lte=soon)).exists()
        or any(renew_at(lease) <= now or replace_at(lease) <= now for lease in current)
    )


def run(now: datetime) -> dict[str, int]:
    state = Round(now)
    for lease in install_leases().filter(revoke_after__lte=now):
        attempt(state, lease, "revoked", lambda lease=lease: revoke(lease))
    current = install_leases().filter(revoke_after__isnull=True, install__status="active")
    for lease in current:
        if replace_at(lease) <= now or lease.expires_at <= now:
            item = lease.install
            assert item is not None
            attempt(state, lease, "replaced", lambda item=item: installs.replace(item, now))
        elif renew_at(lease) <= now and not attempt(
            state, lease, "renewed", lambda lease=lease: installs.renew(lease, now)
        ):
            # A lease that cannot be renewed (revoked behind the product's back, its user
            # dropped) is replaced at once rather than left to expire.
            item = lease.install
            assert item is not None
            attempt(state, lease, "replaced", lambda item=item: installs.replace(item, now))
    return state.counts


def revoke(lease: DatabaseLease) -> None:
    credentials.revoke_now(lease, actor=installs.INSTALLER)


def attempt(state: Round, lease: DatabaseLease, done: str, work: object) -> bool:
    """Run ``work``; a failure is counted, logged (its kind only) and notified."""
    assert callable(work)
    try:
        work()
    except FAILURES as exc:
        state.counts["failed"] += 1
        logger.warning(
            "database lease %s: %s failed: %s", lease.public_id, done, type(exc).__name__
        )
        notifications.notify(
            organization=lease.organization,
            event="database.credentials_failed",
            subject=f"Installed credentials of {lease.role} could not be kept current",
            detail={"secretName": str(lease.role), "trigger": done},
        )
        return False
    state.counts[done] += 1
    return True
