"""Checks on secret names and tags, shared by the API and the dashboard."""

from __future__ import annotations

import hashlib
import re

from django.core.exceptions import ValidationError

# A DNS-1123 subdomain: the name becomes a Kubernetes object name when installed.
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
NOT_IN_NAME = re.compile(r"[^a-z0-9.-]+|\.{2,}")
TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/=@+-]{0,127}$")
MAX_TAGS = 64
# The system's tags (as in the original product): set when a secret is created, never added
# or removed through the tag endpoints. ``hidden`` keeps a secret out of lists, ``readonly``
# refuses its update and deletion.
SYSTEM_TAG_PREFIX = "banzai:"
HIDDEN_TAG = "banzai:hidden"
READONLY_TAG = "banzai:readonly"
SYSTEM_TAGS = frozenset({HIDDEN_TAG, READONLY_TAG})


def secret_id_for(name: str) -> str:
    """The secret's id: lowercase hex SHA-256 of its name."""
    return hashlib.sha256(name.encode()).hexdigest()


NAME_RULE = (
    "Must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', "
    "starting and ending with a letter or digit, at most 253 characters."
)
TAG_RULE = (
    "1-128 characters, starting with a letter or digit, then letters, digits and . _ : / = @ + -"
)
# Offending items are quoted back shortened: enough to find them, never a whole paste.
QUOTE_AT = 40


def quoted(item: str) -> str:
    """``item`` as an error message names it: quoted, control characters escaped, shortened."""
    shown = item if len(item) <= QUOTE_AT else item[: QUOTE_AT - 1] + "…"
    return repr(shown)


def name_problems(name: str) -> str:
    """What is wrong with a name that is not a DNS-1123 subdomain, in words: the characters
    it may not have and where it may not start or end, with a name that would do."""
    problems: list[str] = []
    upper = sorted({c for c in name if c.isupper() and c.isascii()})
    if upper:
        problems.append(f"capitals ({' '.join(upper)})")
    other = sorted({c for c in name if not (c.isascii() and (c.isalnum() or c in "-."))})
    if other:
        problems.append("the characters " + " ".join(quoted(c) for c in other[:10]))
    if name[:1] in ("-", ".") or name[-1:] in ("-", "."):
        problems.append("a '-' or '.' at the start or end")
    if ".." in name or ".-" in name or "-." in name:
        problems.append("an empty part between dots")
    if len(name) > 253:
        problems.append(f"{len(name)} characters")
    found = "This one has " + "; ".join(problems) + "." if problems else ""
    fixed = NOT_IN_NAME.sub("-", name.lower()).strip("-.")
    if name.isascii() and len(fixed) <= QUOTE_AT and DNS1123_SUBDOMAIN.fullmatch(fixed):
        found += f" Such as {fixed!r}."
    return found.strip()


def validate_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise ValidationError({"name": "This field is required."})
    if len(name) > 253 or not DNS1123_SUBDOMAIN.fullmatch(name):
        raise ValidationError({"name": f"{NAME_RULE} {name_problems(name)}".strip()})
    return name


def validate_tag(tag: object, *, field: str = "tags") -> str:
    if not isinstance(tag, str) or not TAG_RE.fullmatch(tag):
        raise ValidationError({field: f"Invalid tag: {TAG_RULE}"})
    return tag


def bad_tags_message(bad: list[str]) -> str:
    """The error naming every offending tag of a list."""
    named = ", ".join(quoted(t) for t in bad)
    return f"Invalid tag{'s' if len(bad) > 1 else ''} {named}: each is {TAG_RULE}."


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
    """Tags as a sorted list without duplicates; every invalid one is named in one error."""
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise ValidationError({"tags": "Must be a list of strings."})
    bad = [t if isinstance(t, str) else repr(t) for t in tags if not _is_tag(t)]
    if bad:
        raise ValidationError({"tags": bad_tags_message(bad)})
    unique = sorted(set(tags))
    if len(unique) > MAX_TAGS:
        raise ValidationError({"tags": f"At most {MAX_TAGS} tags per secret; {len(unique)} given."})
    return unique


def _is_tag(tag: object) -> bool:
    return isinstance(tag, str) and bool(TAG_RE.fullmatch(tag))
