"""The input pieces every secret form shares: quiet text inputs, a textarea that never
echoes a value, tag splitting and the names of types as people write them."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from secrets_app.types import REGISTRY

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
}


def type_label(name: str) -> str:
    return TYPE_LABELS.get(name, name.capitalize())


def split_tags(text: str) -> list[str]:
    return [t for t in TAG_SPLIT.split(text.strip()) if t]


def type_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in REGISTRY]


class SecretTextarea(forms.Textarea):
    """A textarea that never echoes a submitted value back into the page."""

    def format_value(self, value: Any) -> str | None:
        return None
