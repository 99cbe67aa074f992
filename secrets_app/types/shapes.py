"""Shape checks shared by the types whose values are tokens or names without a richer format.

A check names the field and what is wrong; it never quotes the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError

from secrets_app.types.base import Context, Prepared, SecretType

# A token goes into an HTTP header or an environment variable: printable ASCII, no spaces.
TOKEN_RE = re.compile(r"^[!-~]+$")
# A name or inventory path (vSphere's "/dc/vm/folder") may hold spaces but no controls.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
MAX_TOKEN = 4096
MAX_NAME = 1024


def token_errors(values: dict[str, str], names: Iterable[str]) -> dict[str, str]:
    """Errors of the given fields that are not one printable ASCII word."""
    errors: dict[str, str] = {}
    for name in names:
        value = values.get(name)
        if value and (len(value) > MAX_TOKEN or not TOKEN_RE.fullmatch(value)):
            errors[f"values.{name}"] = (
                f"Must be printable ASCII without spaces, at most {MAX_TOKEN} characters."
            )
    return errors


def name_errors(values: dict[str, str], names: Iterable[str]) -> dict[str, str]:
    """Errors of the given fields that hold a control character or are too long."""
    errors: dict[str, str] = {}
    for name in names:
        value = values.get(name)
        if value and (len(value) > MAX_NAME or CONTROL_RE.search(value)):
            errors[f"values.{name}"] = (
                f"Must be one line without control characters, at most {MAX_NAME} characters."
            )
    return errors


def raise_if(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationError(errors)


class ShapedType(SecretType):
    """A type whose values are checked by shape only: ``tokens`` must each be one printable
    word, ``shapes`` map a field to the pattern it must match and the message when not."""

    tokens: tuple[str, ...] = ()
    shapes: dict[str, tuple[re.Pattern[str], str]] = {}

    def prepare(self, values: dict[str, str], ctx: Context) -> Prepared:
        errors = token_errors(values, self.tokens)
        for name, (pattern, message) in self.shapes.items():
            if not pattern.fullmatch(values[name]):
                errors[f"values.{name}"] = message
        raise_if(errors)
        return Prepared(values=values)
