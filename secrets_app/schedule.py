"""Rotation schedules and renewal times of secrets, kept in ``SecretLifecycle`` rows.

Only times, durations and safe messages live here, never a value. Writes of secrets call
``after_write`` (renewal times follow the stored certificates) and ``set_rotation`` (a
schedule given on create or update); the periodic jobs in ``secrets_app.lifecycle`` read the
rows and claim them with ``claim``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q

from secrets_app.models import SecretIndex, SecretLifecycle
from secrets_app.types import SecretType
from secrets_app.types.durations import parse_duration

MIN_EVERY = timedelta(hours=1)
MAX_EVERY = timedelta(days=10 * 365)
# How long a runner holds a claimed item; a runner that dies mid-item frees it after this.
CLAIM_FOR = timedelta(minutes=10)
# A failed rotation or renewal is tried again this much later (not every round).
RETRY_AFTER = timedelta(hours=1)
_DAYS = re.compile(r"^\s*(\d{1,5})d(.*)$")


def renewal_window() -> timedelta:
    """``CERT_RENEWAL_DAYS``: how long before expiry certificates are renewed or announced."""
    return timedelta(days=settings.CERT_RENEWAL_DAYS)


def parse_every(text: Any) -> timedelta:
    """``30d``, ``12h``, ``1d12h``, ``90m``: days, then a Go-style duration; 1 hour to 10
    years. A field error on ``rotation.every`` otherwise."""
    message = "A duration such as 30d, 7d, 12h or 1d12h, from 1h to 3650d."
    if not isinstance(text, str):
        raise ValidationError({"rotation.every": message})
    days, rest = timedelta(), text.strip()
    matched = _DAYS.match(rest)
    if matched:
        days, rest = timedelta(days=int(matched.group(1))), matched.group(2).strip()
    try:
        every = days + (parse_duration(rest) if rest else timedelta())
    except ValueError:
        raise ValidationError({"rotation.every": message}) from None
    if not MIN_EVERY <= every <= MAX_EVERY:
        raise ValidationError({"rotation.every": message})
    return every


def format_every(every: timedelta) -> str:
    """The shortest ``parse_every`` text for ``every`` (``30d``, ``1d12h``, ``90m``)."""
    days, seconds = every.days, every.seconds
    hours, minutes = divmod(seconds // 60, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return "".join(parts) or "0m"


@dataclass(frozen=True)
class RotationChange:
    """What a write asks of the schedule: ``keep`` it, or set it to ``every`` (None: none)."""

    keep: bool
    every: timedelta | None = None

    def audit(self) -> dict[str, Any]:
        """The audit detail of the change: ``every`` (None: removed), nothing when kept."""
        if self.keep:
            return {}
        return {"every": format_every(self.every) if self.every else None}


KEEP = RotationChange(keep=True)


class _NotGiven:
    def __repr__(self) -> str:
        return "NOT_GIVEN"


# The ``rotation`` argument of a write that did not mention it (``None`` removes a schedule).
NOT_GIVEN: Any = _NotGiven()


def clean_rotation(value: Any, stype: SecretType) -> RotationChange:
    """The ``rotation`` member of a write: ``NOT_GIVEN`` keeps the schedule, None removes
    it, ``{"every": "30d"}`` sets it (only for a type that can rotate). Field errors name
    ``rotation`` or ``rotation.every``; nothing is written before this has passed."""
    if value is NOT_GIVEN:
        return KEEP
    if value is None:
        return RotationChange(keep=False)
    if not isinstance(value, dict) or set(value) - {"every"}:
        raise ValidationError({"rotation": 'Must be null or an object {"every": "30d"}.'})
    if not stype.rotatable:
        raise ValidationError(
            {"rotation": f"A {stype.name} secret cannot be rotated here, so it has no schedule."}
        )
    if value.get("every") is None:
        return RotationChange(keep=False)
    return RotationChange(keep=False, every=parse_every(value["every"]))


def set_rotation(*, row: SecretIndex, change: RotationChange, now: datetime) -> None:
    """Apply ``change`` to the secret's schedule; the first rotation is due one period on."""
    if change.keep:
        return
    if change.every is None:
        SecretLifecycle.objects.filter(secret=row).update(rotate_every=None, next_rotation_at=None)
        return
    updated = SecretLifecycle.objects.filter(secret=row).update(
        rotate_every=change.every, next_rotation_at=now + change.every
    )
    if not updated:
        SecretLifecycle.objects.create(
            organization_id=row.organization_id,
            secret=row,
            rotate_every=change.every,
            next_rotation_at=now + change.every,
        )


def after_write(*, row: SecretIndex, stype: SecretType, values: dict[str, Any]) -> None:
    """Keep ``renew_at`` in step with the certificates just stored. Types with nothing to
    renew cost no query."""
    if not stype.renewable:
        return
    renew_at = stype.renewal_due(values, renewal_window())
    if renew_at is None:
        SecretLifecycle.objects.filter(secret=row).update(renew_at=None)
        return
    updated = SecretLifecycle.objects.filter(secret=row).update(renew_at=renew_at)
    if not updated:
        SecretLifecycle.objects.create(
            organization_id=row.organization_id, secret=row, renew_at=renew_at
        )


def claim(*, pk: int, due: Q, now: datetime) -> bool:
    """Take item ``pk`` for this runner if it is still ``due`` and nobody holds it: one
    conditional UPDATE, atomic on PostgreSQL and SQLite alike, so of several runners that
    found the same due item exactly one gets it."""
    unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    return bool(
        SecretLifecycle.objects.filter(due & unclaimed, pk=pk).update(claimed_until=now + CLAIM_FOR)
    )
