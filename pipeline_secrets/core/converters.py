"""Path converters for the ids in URLs: only values a row can have match.

Django's ``int`` converter accepts any number of digits, so an id no row can have (0, or one
beyond a 64-bit signed integer) reached the database, where SQLite cannot even bind it; its
``str`` converter let any text (a NUL, which PostgreSQL refuses) reach a secret id lookup.
With these converters anything else does not match and the URL is a 404, like a missing row.
They are registered as ``id`` and ``secret_id`` in ``pipeline_secrets.urls`` (the root
URLconf, which includes all the others); ``pipeline_secrets.core.api.schema`` documents them.
"""

from __future__ import annotations

from typing import Any

ID_MAX = 2**63 - 1

# What the OpenAPI document says of a path parameter that uses each converter.
ID_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
SECRET_ID_SCHEMA: dict[str, Any] = {"type": "string", "pattern": "^[0-9a-f]{64}$"}


class IdConverter:
    """A database id: digits (19 at most), from 1 to 2**63-1."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= ID_MAX:
            # A ValueError makes the pattern not match, so the request falls through to a 404.
            raise ValueError(f"id out of range: {value}")
        return number

    def to_url(self, value: int | str) -> str:
        return str(int(value))


class SecretIdConverter:
    """A secret's id: the hex SHA-256 of its name, 64 lowercase hex digits."""

    regex = "[0-9a-f]{64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
