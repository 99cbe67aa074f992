"""What a provider check may call, and how its failures are told to the caller.

A credential check connects on a tenant's behalf, so three rules hold for every provider:
the endpoint is the provider's own or one the operator added (``PROVIDER_EXTRA_ENDPOINTS``),
never one a tenant names; it is not in a network the operator denies
(``OUTBOUND_DENY_NETWORKS``); and the caller hears a fixed sentence per kind of failure with
at most the HTTP status or a known error code, never the text that came back.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from pipeline_secrets.core.outbound import OutboundRefusedError, check_url
from secrets_app.types.base import Context, Prepared, SecretType

# A check waits this long to connect and then to read; a provider slower than that is
# reported as unreachable rather than holding the request open.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0
DEFAULT_PORTS = {"https": 443, "http": 80}
# Anything parsers may disagree on (userinfo, backslashes, spaces, controls, non-ASCII) is
# refused outright rather than judged.
PLAIN_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[!#-\[\]-~]+$")
REFUSED = "This endpoint is not allowed: it is in a network this server does not connect to."

Origin = tuple[str, str, int]


def provider_error(
    provider: str, what: str, *, status: int | None = None, field: str = "values"
) -> ValidationError:
    """``<provider> <what> (HTTP <status>).`` keyed ``field``.

    Only the status is passed on: the provider's own text is foreign, and an endpoint that
    answers with anything it likes would otherwise turn the check into a way to read it.
    """
    suffix = f" (HTTP {status})" if status else ""
    return ValidationError({field: f"{provider} {what}{suffix}."})


def answer_error(
    provider: str, status: int | None, *, rejected: str, field: str = "values"
) -> ValidationError:
    """The error for an answer that is not a success, by its HTTP status: ``rejected`` (such
    as "rejected the credentials") for a client error or when no status is known."""
    if status is not None and 300 <= status < 400:
        what = "answered with a redirect, which this server does not follow"
    elif status is not None and status >= 500:
        what = "answered with a server error"
    elif status is not None and 200 <= status < 300:
        what = "gave an answer this server could not read"
    else:
        what = rejected
    return provider_error(provider, what, status=status, field=field)


def refused_error(field: str = "values") -> ValidationError:
    return ValidationError({field: REFUSED})


def _split(url: str) -> tuple[Origin, str] | None:
    """``((scheme, host, port), path)`` of a plain http(s) URL without userinfo, else None."""
    if not PLAIN_URL_RE.fullmatch(url):
        return None
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return None
    return (parts.scheme, parts.hostname, port), parts.path


def _operator_allows(origin: Origin, path: str) -> bool:
    for entry in settings.PROVIDER_EXTRA_ENDPOINTS:
        allowed = _split(str(entry).strip())
        if allowed is None or allowed[0] != origin:
            continue
        prefix = allowed[1].rstrip("/")
        if not prefix or path == prefix or path.startswith(prefix + "/"):
            return True
    return False


def endpoint_allowed(url: str, hosts: Collection[str]) -> bool:
    """``url`` is https on the default port of one of ``hosts`` (the provider's own), or
    starts with an endpoint in the operator's ``PROVIDER_EXTRA_ENDPOINTS``."""
    split = _split(url)
    if split is None:
        return False
    origin, path = split
    scheme, host, port = origin
    if scheme == "https" and port == 443 and host in hosts:
        return True
    return _operator_allows(origin, path)


def check_endpoint(url: str, *, field: str = "values") -> None:
    """A field error, before anything is sent, when ``url`` is in a denied network."""
    try:
        check_url(url)
    except OutboundRefusedError:
        raise refused_error(field) from None


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
