"""Query parameters of the API, read one way everywhere: flags, positive integers, texts."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from rest_framework.request import Request

from pipeline_secrets.core.converters import ID_MAX


def flag(request: Request, name: str, default: bool = False) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def positive_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= ID_MAX:
        raise ValidationError({name: f"Must be a whole number from 1 to {ID_MAX}."})
    return int(raw)


def texts(request: Request, name: str) -> list[str]:
    """Every value of a query parameter; a NUL, which no stored text can hold (and PostgreSQL
    refuses), is a 400 naming the parameter, as it is in a request body."""
    values = request.query_params.getlist(name)
    if any("\x00" in value for value in values):
        raise ValidationError({name: "Null characters are not allowed."})
    return values


def whole_number(raw: str | None, name: str, *, default: int | None = None) -> int | None:
    """``raw`` as an integer (``default`` when absent); a field error naming ``name`` if not."""
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError({name: "Must be a whole number."}) from None


def aware_time(raw: str, name: str) -> datetime | None:
    """``raw`` as an RFC 3339 time with offset, in UTC; None when it is not written as a time.
    A field error naming ``name`` when it has no offset, or when it lies outside what a
    database column holds (years 1 to 9999 in UTC: ``0001-01-01T00:00:00+01:00`` does not)."""
    try:
        when = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        raise ValidationError({name: "The time needs an offset (Z or +hh:mm)."})
    try:
        return when.astimezone(UTC)
    except OverflowError:
        message = "The time must lie within the years 1 to 9999 in UTC."
        raise ValidationError({name: message}) from None
