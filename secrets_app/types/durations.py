"""Go-style durations (``8760h``, ``720h30m``, ``1.5h``), the notation Kubernetes users know."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {
    "ns": timedelta(microseconds=0.001),
    "us": timedelta(microseconds=1),
    "µs": timedelta(microseconds=1),
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
}
# Longest unit names first so "ms" is not read as "m" followed by garbage.
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_WHOLE = re.compile(r"^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$")


def parse_duration(text: str) -> timedelta:
    """The duration ``text`` denotes; ValueError when it is not a positive Go duration.

    Go also accepts a sign and a bare ``0``; a validity can be neither, so both are refused.
    """
    value = text.strip()
    if not _WHOLE.fullmatch(value):
        raise ValueError("not a duration")
    total = timedelta()
    for number, unit in _PART.findall(value):
        total += float(number) * _UNITS[unit]
    if total <= timedelta():
        raise ValueError("not positive")
    return total
