"""``.env`` blocks: pasted ``KEY=value`` lines read into pairs, and values written out as a
``.env`` file for download."""

from __future__ import annotations

import re

from secrets_app.forms.inputs import bad_key
from secrets_app.types.base import KEY_RE

ENV_LINE = re.compile(r"^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$")


def parse_env(text: str) -> tuple[dict[str, str], list[str]]:
    """``KEY=value`` lines (``export``, comments, blank lines and quotes as in a ``.env``
    file) as pairs, and errors that name lines, never values."""
    pairs: dict[str, str] = {}
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = ENV_LINE.fullmatch(line)
        if match is None:
            errors.append(f"Line {number} is not KEY=value.")
            continue
        key, value = match.group(1), match.group(2)
        if not KEY_RE.fullmatch(key):
            errors.append(f"Line {number}: {bad_key(key)}")
        elif key in pairs:
            errors.append(f"Line {number}: the key {key!r} is given twice.")
        else:
            pairs[key] = unquote(value)
    return pairs, errors


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        inner = value[1:-1]
        if value[0] == '"':
            inner = inner.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        return inner
    return value


def env_text(values: dict[str, str]) -> str:
    """Values as a ``.env`` file: one ``KEY="value"`` line each, newlines escaped."""

    def quoted(value: str) -> str:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'

    return "".join(f"{key}={quoted(values[key])}\n" for key in sorted(values))
