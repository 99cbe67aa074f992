"""The path converter of every integer id in a URL.

Django's ``int`` converter accepts any number of digits, so an id no row can have (0, or one
beyond a 64-bit signed integer) reached the database, where SQLite cannot even bind it. This
converter only matches 1..2**63-1; anything else does not match and the URL is a 404.
It is registered as ``id`` in ``pipeline_secrets.urls`` (the root URLconf, which includes all
the others), and documented as an integer with those bounds through drf-spectacular's
``PATH_CONVERTER_OVERRIDES``.
"""

from __future__ import annotations

from typing import Any

ID_MAX = 2**63 - 1

# What drf-spectacular documents for a path parameter that uses this converter.
ID_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": ID_MAX}


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
