"""What a secret type is: its fields, how values are validated and generated, how consumed.

A type never sees the request, the database or Vault: it takes values and a ``Context``
(randomness and the clock, so tests can pin them) and returns what to store. Validation
errors are Django ``ValidationError`` keyed by field name; messages never quote a value.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any, Literal

from django.core.exceptions import ValidationError

Sourcing = Literal["env", "volume"]

# A Kubernetes Secret data key: the values become keys of a v1.Secret.
KEY_RE = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")


def article(word: str) -> str:
    """ "a" or "an" before ``word`` as it is read aloud (an amazon, an ssh, a tls)."""
    lowered = word.lower()
    # Names read letter by letter take the article of their first letter's name.
    spelled = lowered in {"ssh", "fn", "tls", "pkecert", "htpasswd"}
    vowel_sound = lowered[:1] in ("aefhilmnorsx" if spelled else "aeio")
    return "an" if vowel_sound else "a"


@dataclass(frozen=True)
class Field:
    """One field of a secret type.

    ``required``: every stored secret of the type has it (a ``generatable`` one is made when
    it is left out, so clients need not send it: see ``client_required``). ``opaque``: an
    internal value that is not installed into clusters. ``safe_to_display``:
    not a secret (a username, a host list), shown without a reveal. ``public``: a public
    value (a certificate, a public key) that the original's API does not flag safe to display
    but that is no secret either: the pages show it in clear too. ``help``: what the pages
    say about the field, in words, when the API's ``description`` is written for clients.
    """

    name: str
    required: bool = False
    generatable: bool = False
    opaque: bool = False
    safe_to_display: bool = False
    description: str = ""
    # The values a form offers for this field (key types, validities); empty for free text.
    choices: tuple[str, ...] = ()
    public: bool = False
    help: str = ""

    @property
    def in_clear(self) -> bool:
        """Whether the pages show this field's value without a reveal (not a secret)."""
        return self.safe_to_display or self.public

    @property
    def page_help(self) -> str:
        return self.help or self.description

    @property
    def client_required(self) -> bool:
        """Whether a client must send this field: ``required`` says the stored secret always
        has it, but a generatable field is made up when it is left out."""
        return self.required and not self.generatable


@dataclass(frozen=True)
class Context:
    """Inputs a type may use besides the values: randomness, time, remote checks."""

    rng: Random = field(default_factory=secrets.SystemRandom)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    verify_remote: bool = True
    # Whether a password value may be a generation spec ("randAlpha,32"). The dashboard has
    # its own Generate control and sends typed passwords with this off: they are stored as
    # typed.
    password_specs: bool = True


@dataclass
class Prepared:
    """The outcome of preparing values for storage.

    ``values`` go to Vault. ``generated`` are the values made up on the caller's behalf,
    returned once in the create/update answer. ``expires_at`` is the earliest expiry of
    anything in the values (certificates), if any.
    """

    values: dict[str, str]
    generated: dict[str, str] = field(default_factory=dict)
    expires_at: datetime | None = None


class SecretType:
    """Base class. Subclasses set the class attributes and override ``prepare``."""

    name: str = ""
    description: str = ""
    sourcing: Sourcing = "volume"
    fields: tuple[Field, ...] = ()
    # A type with a schema rejects keys it does not know; generic accepts any key.
    strict: bool = True
    # The Kubernetes Secret type used when installed; None means Opaque.
    kubernetes_type: str | None = None
    # The weakest organization role that reads, writes or deletes this type's values.
    values_role: str = "member"

    # Whether the product can make fresh values of this type by itself (``rotate``): false
    # for values that come from elsewhere (cloud credentials, tokens, anything generic).
    rotatable: bool = False
    # Whether ``renewal_due``/``renew`` may find something to renew (certificates).
    renewable: bool = False

    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def clean(self, values: Any, ctx: Context) -> Prepared:
        """Check the shape of ``values``, then let the type generate and validate."""
        checked = self._check_shape(values)
        self._check_required(checked, include_generatable=False)
        prepared = self.prepare(checked, ctx)
        self._check_required(prepared.values, include_generatable=True)
        return prepared

    def prepare(self, values: dict[str, str], ctx: Context) -> Prepared:
        """Generate what is missing and validate; the default only stores what it got."""
        return Prepared(values=values)

    def verify(self, values: dict[str, str], ctx: Context) -> Prepared:
        """Re-validate stored values (the ``/validate`` endpoint); generates nothing."""
        return self.clean(values, ctx)

    def install_data(self, values: dict[str, str]) -> dict[str, str]:
        """The data keys of the v1.Secret this secret installs as: every value but the opaque
        fields, plus the native keys of ``kubernetes_type`` where the type adds them."""
        opaque = {f.name for f in self.fields if f.opaque}
        return {k: v for k, v in values.items() if k not in opaque}

    def expiry(self, values: dict[str, str]) -> datetime | None:
        """The earliest expiry of what ``values`` hold, without validating them; None if
        nothing expires. Used to index stored secrets, including expired ones."""
        return None

    def rotate(self, values: dict[str, str], ctx: Context) -> Prepared:
        """Fresh values made with the parameters the stored ``values`` were made with (a
        password's length and alphabet, a certificate's hosts, validity and key type).
        ``generated`` names every value that changed. The default refuses: the type's values
        come from elsewhere."""
        kind = f"{article(self.name).capitalize()} {self.name} secret"
        raise ValidationError(
            {
                "type": f"{kind} cannot be rotated here: its values come from elsewhere. "
                "Update it with new values instead."
            }
        )

    def renewal_due(self, values: dict[str, str], window: timedelta) -> datetime | None:
        """When ``renew`` must next run on these values (a certificate enters its renewal
        window of ``window``, or a third of its validity for short-lived ones); None when
        nothing in them can be renewed here."""
        return None

    def renew(self, values: dict[str, str], ctx: Context, window: timedelta) -> Prepared:
        """The values with what is due at ``ctx.now`` renewed (see ``renewal_due``)."""
        raise ValidationError(
            {"type": f"{article(self.name).capitalize()} {self.name} secret has nothing to renew."}
        )

    def _check_shape(self, values: Any) -> dict[str, str]:
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise ValidationError({"values": "Must be an object of string values."})
        errors: dict[str, str] = {}
        known = set(self.field_names())
        for key, value in values.items():
            if not isinstance(key, str) or not KEY_RE.fullmatch(key):
                errors[f"values.{key}"] = (
                    "Keys may contain only letters, digits, '-', '_' and '.' (1-253)."
                )
            elif self.strict and key not in known:
                errors[f"values.{key}"] = (
                    f"Unknown field for type {self.name}; known fields: {', '.join(known)}."
                )
            elif not isinstance(value, str):
                errors[f"values.{key}"] = "Must be a string."
        if errors:
            raise ValidationError(errors)
        return {k: v for k, v in values.items() if not (self.strict and v == "")}

    def _check_required(self, values: dict[str, str], *, include_generatable: bool) -> None:
        missing = {
            f"values.{f.name}": "This field is required."
            for f in self.fields
            if f.required and (include_generatable or not f.generatable) and not values.get(f.name)
        }
        if missing:
            raise ValidationError(missing)
