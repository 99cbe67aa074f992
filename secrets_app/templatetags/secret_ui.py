"""Wording helpers for the dashboard's templates."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.timesince import timeuntil

register = template.Library()


@register.filter
def until(when: datetime | None, now: datetime) -> str:
    """How far off ``when`` is, as people say it: "in 3 hours", "in under a minute",
    "now" once it has passed (never "in 0 minutes")."""
    if when is None:
        return ""
    left = (when - now).total_seconds()
    if left <= 0:
        return "now"
    if left < 60:
        return "in under a minute"
    return f"in {timeuntil(when, now, depth=1)}"
