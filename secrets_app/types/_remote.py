"""Turning a provider's answer into a field error that is safe to show and to log."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError

from secrets_app.types.base import Context, Prepared, SecretType

# A check waits this long to connect and then to read; a provider slower than that is
# reported as unreachable rather than holding the request open.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0
MAX_MESSAGE = 300


def provider_error(
    provider: str, what: str, message: object, *, hide: Iterable[str], field: str = "values"
) -> ValidationError:
    """``<provider> <what>: <message>`` keyed ``field``, with every secret in ``hide`` masked.

    Providers do not echo secrets, but their messages are foreign text: masking makes that
    a guarantee rather than an assumption.
    """
    text = " ".join(str(message).split()) or "no detail given"
    for secret in hide:
        if secret:
            text = text.replace(secret, "***")
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 3] + "..."
    return ValidationError({field: f"{provider} {what}: {text}"})


class CredentialType(SecretType):
    """A cloud provider credential: its shape is always checked; the provider is asked too
    unless the request says ``validate=false``. Never generated."""

    def check_shape(self, values: dict[str, str]) -> None:
        raise NotImplementedError

    def verify_remotely(self, values: dict[str, str]) -> None:
        raise NotImplementedError

    def prepare(self, values: dict[str, str], ctx: Context) -> Prepared:
        self.check_shape(values)
        if ctx.verify_remote:
            self.verify_remotely(values)
        return Prepared(values=values)
