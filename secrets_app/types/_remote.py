"""Turning a provider's answer into a field error that is safe to show and to log."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError

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
