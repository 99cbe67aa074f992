"""The input pieces every secret form shares: quiet text inputs, a textarea that never
echoes a value, tag splitting and the names of types as people write them."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from secrets_app.types import REGISTRY
from secrets_app.validation import (
    MAX_TAGS,
    SYSTEM_TAG_PREFIX,
    SYSTEM_TAGS,
    TAG_RE,
    bad_tags_message,
    quoted,
)

TAG_SPLIT = re.compile(r"[\s,]+")
INPUT_ATTRS = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}
BAD_KEY = "A key may contain only letters, digits, '-', '_' and '.' (1-253 characters)."
# Names of types as people write them, for headings.
TYPE_LABELS = {
    "tls": "TLS",
    "ssh": "SSH",
    "htpasswd": "htpasswd",
    "pkecert": "PKE certificate",
    "fn": "Fn",
    "digitalocean": "DigitalOcean",
    "pagerduty": "PagerDuty",
    "vsphere": "vSphere",
}


def bad_key(key: str) -> str:
    """``BAD_KEY`` naming what is wrong with ``key``: its characters, or its length."""
    chars = sorted({c for c in key if not (c.isascii() and (c.isalnum() or c in "-_."))})
    if chars:
        return f"{BAD_KEY} This one has " + " ".join(quoted(c) for c in chars[:10]) + "."
    return f"{BAD_KEY} This one has {len(key)} characters." if key else BAD_KEY


def type_label(name: str) -> str:
    return TYPE_LABELS.get(name, name.capitalize())


def split_tags(text: str) -> list[str]:
    return [t for t in TAG_SPLIT.split(text.strip()) if t]


def tag_problems(text: str) -> list[str]:
    """What is wrong with a tag box's text, each offending tag named: invalid tags, an empty
    tag between two commas and system tags the product does not know."""
    problems: list[str] = []
    parts = [part.strip() for part in text.split(",")]
    inner = [i for i in range(1, len(parts) - 1) if not parts[i] and parts[i - 1]]
    if inner:
        after = ", ".join(quoted(parts[i - 1]) for i in inner)
        problems.append(f"An empty tag between two commas (after {after}).")
    tags = split_tags(text)
    bad = [t for t in tags if not TAG_RE.fullmatch(t)]
    if bad:
        problems.append(bad_tags_message(bad))
    unknown = [t for t in tags if t.startswith(SYSTEM_TAG_PREFIX) and t not in SYSTEM_TAGS]
    if unknown:
        known = ", ".join(sorted(SYSTEM_TAGS))
        named = ", ".join(quoted(t) for t in unknown)
        problems.append(
            f"Not a system tag: {named}. Tags starting with "
            f"{SYSTEM_TAG_PREFIX!r} are the system's: {known}."
        )
    if len(set(tags)) > MAX_TAGS:
        problems.append(f"At most {MAX_TAGS} tags per secret; {len(set(tags))} given.")
    return problems


def type_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in REGISTRY]


class SecretTextarea(forms.Textarea):
    """A textarea that never echoes a submitted value back into the page."""

    def format_value(self, value: Any) -> str | None:
        return None
