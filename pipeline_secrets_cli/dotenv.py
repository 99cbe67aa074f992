"""``.env`` files, read and written by one set of rules so that a file written here reads
back the same and a file in that form writes back byte for byte.

Written: ``KEY=value`` with the value bare when it holds only ``A-Z a-z 0-9 _ . / : @ % + ,
= ? -``, otherwise in double quotes with ``\\\\``, ``\\"``, ``\\$``, ``\\n``, ``\\r`` and ``\\t``
escaped; one line per key, in order, each ending in a newline. Read: the same, plus single
quotes (literal), ``export`` before a key, blank lines and ``#`` comments (not kept).
"""

from __future__ import annotations

import re

from pipeline_secrets_cli.errors import USAGE, CliError

BARE = re.compile(r"[A-Za-z0-9_./:@%+,=?-]*")
KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
ESCAPES = {"\\": "\\\\", '"': '\\"', "$": "\\$", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
UNESCAPES = {v[1]: k for k, v in ESCAPES.items()}


def quote(value: str) -> str:
    if BARE.fullmatch(value):
        return value
    return '"' + "".join(ESCAPES.get(c, c) for c in value) + '"'


def dumps(values: dict[str, str]) -> str:
    return "".join(f"{key}={quote(value)}\n" for key, value in values.items())


def _double_quoted(text: str, where: str) -> tuple[str, str]:
    """The value of a double-quoted string starting after its quote, and what follows."""
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == '"':
            return "".join(out), text[i + 1 :]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in UNESCAPES:
            out.append(UNESCAPES[text[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    raise CliError(f"{where}: the double quote is not closed", USAGE)


def _value(raw: str, where: str) -> str:
    if raw.startswith('"'):
        value, rest = _double_quoted(raw[1:], where)
    elif raw.startswith("'"):
        value, sep, rest = raw[1:].partition("'")
        if not sep:
            raise CliError(f"{where}: the single quote is not closed", USAGE)
    else:
        return raw.split(" #", 1)[0].strip()
    if rest.strip() and not rest.strip().startswith("#"):
        raise CliError(f"{where}: unexpected text after the quoted value", USAGE)
    return value


def loads(text: str, source: str = ".env") -> dict[str, str]:
    """The keys and values of a ``.env`` text, in order; a bad line is an error naming it."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{source}, line {number}"
        stripped = stripped.removeprefix("export ").lstrip()
        key, sep, raw = stripped.partition("=")
        key = key.strip()
        if not sep or not KEY.fullmatch(key):
            raise CliError(f"{where}: expected KEY=VALUE", USAGE)
        if key in values:
            raise CliError(f"{where}: {key} is set twice", USAGE)
        values[key] = _value(raw.strip(), where)
    return values
