"""A secret's life after it is written: rollback, destroying old versions, rotation (now or
on a schedule) and certificate renewal, and the periodic jobs that run the scheduled ones.

Every change here is a new version written through the one write path
(``writes.write_version``): check-and-set on the version read, the index after Vault, the
installed copies followed by the hooks, one audit event. Invariants:

- a rollback writes the values and user tags of an earlier version as a new version; it
  never rewrites history, and the system tags of the secret stay as they are;
- a rotation or renewal makes fresh values with the same parameters (the type decides what
  those are: ``SecretType.rotate``/``renew``); a read-only secret is never changed (409);
- scheduled work is claimed item by item (``schedule.claim``) so that concurrent runners
  process each due item once; a failure is recorded on the item (a safe message), announced
  (``secret.rotation_failed``) and retried ``schedule.RETRY_AFTER`` later;
- audit events, log lines and notifications carry ids, names, versions and dates only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.utils import timezone

from notifications import services as notifications
from orgs.models import Organization
from pipeline_secrets.core.errors import AppError, ConflictError, NotFoundError
from secrets_app import schedule, values, vault
from secrets_app.models import SecretIndex, SecretLifecycle
from secrets_app.selectors import secret_get, vault_path
from secrets_app.types import Context, Prepared, SecretType, get_type
from secrets_app.validation import SYSTEM_TAG_PREFIX
from secrets_app.writes import (
    Actor,
    Current,
    Draft,
    SecretWrite,
    actor_name,
    record,
    refuse_read_only,
    write_version,
)

logger = logging.getLogger(__name__)

# The actor of everything the periodic jobs do.
SYSTEM = "system"


def _version_number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError({"version": "Must be a version number (a whole number from 1)."})
    return value


# --------------------------------------------------------------------------- rollback


def secret_rollback(
    *,
    actor: Actor,
    organization: Organization,
    secret_id: str,
    version: Any,
    expected_version: int | None = None,
) -> SecretWrite:
    """Write version ``version``'s values and user tags as a new version (check-and-set on
    the current one), then refresh the installed copies like any update. The version must
    still be kept by Vault and not be the current one (field errors on ``version``)."""
    number = _version_number(version)

    def compose(current: Current | None) -> Draft:
        assert current is not None
        if number == current.version:
            raise ValidationError({"version": f"Version {number} is the current version."})
        old = _earlier(actor, current.row, number)
        old_values = values.values_of(old)
        system = {t for t in current.tags if t.startswith(SYSTEM_TAG_PREFIX)}
        user = {t for t in old.data.get("tags") or [] if not t.startswith(SYSTEM_TAG_PREFIX)}
        return Draft(
            values=old_values,
            tags=sorted(system | user),
            expires_at=current.stype.expiry(old_values),
            detail={"source": number},
        )

    return write_version(
        actor=actor,
        organization=organization,
        secret_id=secret_id,
        allow="secret.values.write",
        audit_as="secret.rollback",
        compose=compose,
        expected_version=expected_version,
    )


def _earlier(actor: Actor, row: SecretIndex, number: int) -> values.Document:
    """Version ``number`` of the secret, to roll back to (a field error when not kept)."""
    try:
        return values.reveal(
            standing=actor, row=row, purpose="rollback", version=number, audit_read=False
        )
    except NotFoundError:
        raise ValidationError(
            {
                "version": f"The secret has no version {number} to roll back to "
                "(never written, deleted, destroyed or no longer kept)."
            }
        ) from None


def secret_destroy_version(
    *, actor: Actor, organization: Organization, secret_id: str, version: int
) -> None:
    """Destroy one earlier version for good (KV v2 destroy). The current version cannot be
    destroyed (409: write a new one or delete the secret), nor any of a read-only secret."""
    row = secret_get(organization=organization, secret_id=secret_id)
    values.require(actor, "secret.version.destroy", row)
    refuse_read_only(row.tags)
    path = vault_path(organization.pk, secret_id)
    kept = {v.version: v for v in vault.versions(path)}
    if version not in kept:
        raise NotFoundError(f"The secret has no version {version}.")
    if version == row.version or version == max(kept):
        raise ConflictError(
            "The current version cannot be destroyed; write a new version first, or delete "
            "the secret."
        )
    vault.destroy(path, version)
    record(actor, "secret.version.destroy", row, version=version)


# --------------------------------------------------------------------------- rotation


def _write_fresh(
    *,
    actor: Actor,
    organization: Organization,
    secret_id: str,
    make: Callable[[SecretType, dict[str, Any]], Prepared],
    action: str,
    trigger: str,
) -> SecretWrite:
    """Let ``make(stype, values)`` produce fresh values from the current version, write
    them as a new version and announce it (``secret.rotated``)."""

    def compose(current: Current | None) -> Draft:
        assert current is not None
        return Draft.of(make(current.stype, current.values), tags=current.tags, purpose=trigger)

    write = write_version(
        actor=actor,
        organization=organization,
        secret_id=secret_id,
        allow="secret.rotate",
        audit_as=action,
        compose=compose,
    )
    row = write.row
    _notify(
        row,
        "secret.rotated",
        f"{row.name} was {'renewed' if action == 'secret.renew' else 'rotated'} "
        f"(version {row.version})",
        version=row.version,
        previousVersion=write.previous_version,
        trigger=trigger,
        actor=actor_name(actor),
        expiresAt=row.expires_at,
    )
    return write


def secret_set_rotation(
    *, actor: Actor, organization: Organization, secret_id: str, every: str | None
) -> SecretIndex:
    """Set the rotation schedule of a secret (``every`` empty or None: no schedule) apart
    from a write of its values; audited. A bad period is a field error on
    ``rotation.every``, a type that cannot rotate one on ``rotation``."""
    row = secret_get(organization=organization, secret_id=secret_id)
    values.require(actor, "secret.rotate", row)
    change = schedule.clean_rotation({"every": every} if every else None, get_type(row.type))
    schedule.set_rotation(row=row, change=change, now=timezone.now())
    record(actor, "secret.rotation", row, **change.audit())
    return row


def secret_rotate(
    *,
    actor: Actor,
    organization: Organization,
    secret_id: str,
    ctx: Context | None = None,
    trigger: str = "manual",
) -> SecretWrite:
    """Rotate now: fresh values with the same parameters, as a new version pushed to the
    installed copies. A type that cannot rotate is a field error on ``type``."""
    ctx = ctx or Context()
    write = _write_fresh(
        actor=actor,
        organization=organization,
        secret_id=secret_id,
        make=lambda stype, values: stype.rotate(values, ctx),
        action="secret.rotate",
        trigger=trigger,
    )
    SecretLifecycle.objects.filter(secret=write.row).update(
        last_rotated_at=ctx.now, last_rotated_by=actor_name(actor), last_error=""
    )
    return write


def secret_renew(*, organization: Organization, secret_id: str, ctx: Context) -> SecretWrite:
    """Renew what is due at ``ctx.now`` in the secret's certificates (the periodic job)."""
    window = schedule.renewal_window()
    return _write_fresh(
        actor=SYSTEM,
        organization=organization,
        secret_id=secret_id,
        make=lambda stype, values: stype.renew(values, ctx, window),
        action="secret.renew",
        trigger="renewal",
    )


def _notify(row: SecretIndex, event: str, subject: str, **detail: Any) -> None:
    """Announce ``event`` about ``row`` to its org's notification targets; a failure to
    record the notification never undoes the change it announces."""
    try:
        notifications.notify(
            organization=row.organization,
            event=event,
            subject=subject,
            detail={"secretId": row.secret_id, "secretName": row.name, "type": row.type, **detail},
        )
    except Exception:
        logger.exception("notification %s for secret %s not recorded", event, row.secret_id)


def _reason(exc: Exception) -> str:
    """A message safe to store and send: our own errors' texts (which never quote a
    value), field names of a validation error, else the exception's type."""
    if isinstance(exc, ValidationError):
        fields = sorted(getattr(exc, "message_dict", {}) or {})
        return f"invalid values ({', '.join(fields)})" if fields else "invalid values"
    if isinstance(exc, AppError):
        return str(exc.detail)[:500]
    return f"internal error ({type(exc).__name__})"


# --------------------------------------------------------------------------- periodic jobs


def _failed(item: SecretLifecycle, row: SecretIndex, exc: Exception, now: datetime, **due: Any):
    """Record a failure on a claimed item, release it for a retry later, announce it."""
    reason = _reason(exc)
    logger.warning("lifecycle of secret %s failed: %s", row.secret_id, reason)
    SecretLifecycle.objects.filter(pk=item.pk).update(
        last_error=reason, last_error_at=now, claimed_until=None, **due
    )
    _notify(
        row,
        "secret.rotation_failed",
        f"Rotating {row.name} failed",
        error=reason,
        version=row.version,
    )


def run_rotations(now: datetime | None = None) -> dict[str, int]:
    """Rotate every secret whose schedule is due at ``now``, as ``system``. One query when
    nothing is due; each due item is claimed first, so concurrent runners rotate it once."""
    now = now or timezone.now()
    counts = {"rotated": 0, "failed": 0}
    due = Q(next_rotation_at__lte=now)
    items = SecretLifecycle.objects.filter(due).select_related("secret", "organization")
    for item in list(items):
        if not schedule.claim(pk=item.pk, due=due, now=now):
            continue
        row = item.secret
        try:
            secret_rotate(
                actor=SYSTEM,
                organization=item.organization,
                secret_id=row.secret_id,
                ctx=Context(now=now),
                trigger="schedule",
            )
        except Exception as exc:
            _failed(item, row, exc, now, next_rotation_at=now + schedule.RETRY_AFTER)
            counts["failed"] += 1
            continue
        every = item.rotate_every or schedule.MIN_EVERY
        SecretLifecycle.objects.filter(pk=item.pk).update(
            next_rotation_at=now + every, claimed_until=None
        )
        counts["rotated"] += 1
    return counts


def run_renewals(now: datetime | None = None) -> dict[str, int]:
    """Renew the certificates due at ``now``; announce once each expiry inside the window
    that nothing here can renew (``secret.expiring``). Two queries when nothing is due."""
    now = now or timezone.now()
    counts = {"renewed": 0, "failed": 0, "expiring": 0}
    due = Q(renew_at__lte=now)
    items = SecretLifecycle.objects.filter(due).select_related("secret", "organization")
    for item in list(items):
        if not schedule.claim(pk=item.pk, due=due, now=now):
            continue
        row = item.secret
        try:
            # The write moves renew_at (schedule.after_write); the claim is released here.
            secret_renew(
                organization=item.organization, secret_id=row.secret_id, ctx=Context(now=now)
            )
        except Exception as exc:
            _failed(item, row, exc, now, renew_at=now + schedule.RETRY_AFTER)
            counts["failed"] += 1
            continue
        SecretLifecycle.objects.filter(pk=item.pk).update(claimed_until=None, last_error="")
        counts["renewed"] += 1
    counts["expiring"] = _announce_expiring(now)
    return counts


def _announce_expiring(now: datetime) -> int:
    """``secret.expiring`` once per expiry for secrets inside the renewal window that the
    renewal job does not handle (no CA key, a type that cannot renew)."""
    horizon = now + schedule.renewal_window()
    rows = (
        SecretIndex.objects.filter(expires_at__lte=horizon)
        .exclude(lifecycle__renew_at__isnull=False)
        .exclude(lifecycle__expiry_notified_for=F("expires_at"))
        .select_related("organization")
    )
    announced = 0
    for row in list(rows):
        item, _ = SecretLifecycle.objects.get_or_create(
            secret=row, defaults={"organization_id": row.organization_id}
        )
        claimed = (
            SecretLifecycle.objects.filter(pk=item.pk)
            .exclude(expiry_notified_for=row.expires_at)
            .update(expiry_notified_for=row.expires_at)
        )
        if not claimed:
            continue
        expired = row.expires_at is not None and row.expires_at <= now
        _notify(
            row,
            "secret.expiring",
            f"{row.name} {'has expired' if expired else 'expires soon'}",
            expiresAt=row.expires_at,
            version=row.version,
        )
        announced += 1
    return announced
