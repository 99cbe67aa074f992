"""The product's own exceptions. Services raise these; one handler maps them to HTTP.

Messages are shown to callers, so they never contain a secret value.
"""

from __future__ import annotations


class AppError(Exception):
    """Base class: an error with an HTTP status and a short title."""

    status = 500
    title = "Internal error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFoundError(AppError):
    status = 404
    title = "Not found"


class ConflictError(AppError):
    status = 409
    title = "Conflict"


class Accepted(AppError):
    """Not an error: the request was accepted but not carried out yet (held for an
    approval, say); ``body`` is what the API answers with status 202."""

    status = 202
    title = "Accepted"

    def __init__(self, detail: str, body: dict[str, object]) -> None:
        super().__init__(detail)
        self.body = body


class VaultUnavailableError(AppError):
    """Vault is sealed, unreachable or answering with a server error (after the client's
    retries); ``retry_after`` is the number of seconds a caller should wait."""

    status = 503
    title = "Vault unavailable"

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class UpstreamError(AppError):
    """A system we call on the caller's behalf (a cluster, a provider) failed."""

    status = 502
    title = "Upstream error"
