"""password: a username and a password, generated from a spec when not given."""

from __future__ import annotations

import string
from random import Random

from django.core.exceptions import ValidationError

from secrets_app.types.base import Context, Field, Prepared, SecretType

ALPHABETS = {
    "randAlphaNum": string.ascii_letters + string.digits,
    "randAlpha": string.ascii_letters,
    "randNumeric": string.digits,
    "randAscii": "".join(chr(c) for c in range(33, 127)),
}
DEFAULT_METHOD = "randAlphaNum"
DEFAULT_LENGTH = 24
MIN_LENGTH, MAX_LENGTH = 4, 1024


def parse_spec(value: str) -> tuple[str, int] | None:
    """``method,length`` as (method, length); None when ``value`` is not a spec."""
    method, sep, length = value.partition(",")
    if not sep or method not in ALPHABETS:
        return None
    try:
        count = int(length.strip())
    except ValueError:
        raise ValidationError(
            {"values.password": "A generation spec is 'method,length' with a whole length."}
        ) from None
    if not MIN_LENGTH <= count <= MAX_LENGTH:
        raise ValidationError(
            {"values.password": f"The length must be between {MIN_LENGTH} and {MAX_LENGTH}."}
        )
    return method, count


def generate_password(
    rng: Random, method: str = DEFAULT_METHOD, length: int = DEFAULT_LENGTH
) -> str:
    """``length`` random characters of ``method``'s alphabet that use it: an alphanumeric
    password has a letter and a digit, an ASCII one a character besides those. So the spec
    read back from a password (``spec_of``) is the one it was made with, and a rotation
    keeps it. Drawn again until it fits (a few draws at worst, for short lengths)."""
    alphabet = ALPHABETS[method]
    while True:
        candidate = "".join(rng.choice(alphabet) for _ in range(length))
        if spec_of(candidate)[0] == method:
            return candidate


def resolve_password(value: str | None, rng: Random, *, specs: bool = True) -> tuple[str, bool]:
    """The password to store and whether it was generated (empty, or a spec when ``specs``)."""
    if not value:
        return generate_password(rng), True
    spec = parse_spec(value) if specs else None
    if spec is None:
        return value, False
    return generate_password(rng, *spec), True


# Narrowest first: a rotation keeps the narrowest alphabet the old password fits in.
_BY_WIDTH = ("randNumeric", "randAlpha", "randAlphaNum", "randAscii")


def spec_of(password: str) -> tuple[str, int]:
    """The (method, length) a password looks generated with: its length (within bounds) and
    the narrowest alphabet that holds every character of it (randAscii for anything else);
    the default spec for no password."""
    if not password:
        return DEFAULT_METHOD, DEFAULT_LENGTH
    chars = set(password)
    method = next((m for m in _BY_WIDTH if chars <= set(ALPHABETS[m])), "randAscii")
    length = len(password) if MIN_LENGTH <= len(password) <= MAX_LENGTH else DEFAULT_LENGTH
    return method, length


def rotate_password(old: str, rng: Random) -> str:
    """A fresh password of the same length and alphabet as ``old``, never equal to it."""
    method, length = spec_of(old)
    while True:
        new = generate_password(rng, method, length)
        if new != old:
            return new


PASSWORD_HELP = (
    "Generated when empty, or from a spec 'method,length' with method one of "
    + ", ".join(ALPHABETS)
    + f" (default {DEFAULT_METHOD},{DEFAULT_LENGTH})."
)
# The same in words, for the pages (the spec is the API's notation).
ALPHABET_WORDS = {
    "randAlphaNum": "letters and digits",
    "randAlpha": "letters",
    "randNumeric": "digits",
    "randAscii": "letters, digits and symbols",
}
PASSWORD_WORDS = (
    f"Generated when left empty: {DEFAULT_LENGTH} random {ALPHABET_WORDS[DEFAULT_METHOD]}, "
    "or the length and characters you choose."
)


def describe_spec(method: str, length: int) -> str:
    """A generation spec in words: "32 letters, digits and symbols"."""
    return f"{length} {ALPHABET_WORDS.get(method, method)}"


class PasswordType(SecretType):
    name = "password"
    description = "A username and password; the password is generated when not given."
    sourcing = "env"
    kubernetes_type = "kubernetes.io/basic-auth"
    fields = (
        Field("username", required=True, safe_to_display=True, description="The user name."),
        Field(
            "password",
            required=True,
            generatable=True,
            description=PASSWORD_HELP,
            help=PASSWORD_WORDS,
        ),
    )

    def prepare(self, values: dict[str, str], ctx: Context) -> Prepared:
        password, generated = resolve_password(
            values.get("password"), ctx.rng, specs=ctx.password_specs
        )
        stored = {**values, "password": password}
        return Prepared(values=stored, generated={"password": password} if generated else {})

    rotatable = True

    def rotate(self, values: dict[str, str], ctx: Context) -> Prepared:
        password = rotate_password(values.get("password") or "", ctx.rng)
        return Prepared(values={**values, "password": password}, generated={"password": password})

    def verify(self, values: dict[str, str], ctx: Context) -> Prepared:
        checked = self._check_shape(values)
        self._check_required(checked, include_generatable=True)
        return Prepared(values=checked)


TYPE = PasswordType()
