"""Checks on secret names and tags, shared by the API and the dashboard."""

from __future__ import annotations

import hashlib
import re

from django.core.exceptions import ValidationError

# A DNS-1123 subdomain: the name becomes a Kubernetes object name when installed.
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/=@+-]{0,127}$")
MAX_TAGS = 64
# The system's tags (as in the original product): set when a secret is created, never added
# or removed through the tag endpoints. ``hidden`` keeps a secret out of lists, ``readonly``
# refuses its update and deletion.
SYSTEM_TAG_PREFIX = "banzai:"
HIDDEN_TAG = "banzai:hidden"
READONLY_TAG = "banzai:readonly"


def secret_id_for(name: str) -> str:
    """The secret's id: lowercase hex SHA-256 of its name."""
    return hashlib.sha256(name.encode()).hexdigest()


def validate_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise ValidationError({"name": "This field is required."})
    if len(name) > 253 or not DNS1123_SUBDOMAIN.fullmatch(name):
        raise ValidationError(
            {
                "name": (
                    "Must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', "
                    "starting and ending with a letter or digit, at most 253 characters."
                )
            }
        )
    return name


def validate_tag(tag: object, *, field: str = "tags") -> str:
    if not isinstance(tag, str) or not TAG_RE.fullmatch(tag):
        raise ValidationError(
            {
                field: (
                    "Invalid tag: 1-128 characters, starting with a letter "
                    "or digit, then letters, digits and . _ : / = @ + -"
                )
            }
        )
    return tag


def validate_user_tag(tag: object, *, field: str = "tag") -> str:
    """A tag given to the tag endpoints: a valid tag that is not one of the system's."""
    checked = validate_tag(tag, field=field)
    if checked.startswith(SYSTEM_TAG_PREFIX):
        raise ValidationError(
            {
                field: (
                    f"Tags starting with {SYSTEM_TAG_PREFIX!r} are the system's: they are "
                    "set when a secret is created, not added or removed afterwards."
                )
            }
        )
    return checked


def validate_tags(tags: object) -> list[str]:
    """Tags as a sorted list without duplicates."""
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise ValidationError({"tags": "Must be a list of strings."})
    if len(tags) > MAX_TAGS:
        raise ValidationError({"tags": f"At most {MAX_TAGS} tags per secret."})
    return sorted({validate_tag(t) for t in tags})
