"""Sending one webhook: the only place the server calls a URL an organization chose.

Invariants:
- a URL is refused when its host is, or resolves to, an address in ``OUTBOUND_DENY_NETWORKS``,
  or in ``WEBHOOK_DENY_NETWORKS`` (loopback, private and other non-public ranges) unless
  ``WEBHOOK_ALLOW_NETWORKS`` excepts it; an IPv6 address carrying an IPv4 one (NAT64, 6to4,
  Teredo, mapped, compatible) is judged as that IPv4 address too (``outbound.is_denied``);
- the host is resolved when the target is saved (a name that does not resolve is refused)
  and before each send, every address it resolves to is checked, and the address actually
  connected to is checked again (a name that resolves differently the second time does not
  get through);
- no proxy, no redirect followed; connecting and the answer's head together take at most
  ``WEBHOOK_TIMEOUT_SECONDS``; only the status code of the answer is kept, its body is never
  read into the product;
- errors carry the exception's type and the host, never a message of the library or of the
  receiver.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from urllib3 import Timeout

from pipeline_secrets.core import outbound


def timeout() -> Timeout:
    """Connecting and reading the answer's head, together (``WEBHOOK_TIMEOUT_SECONDS``)."""
    return Timeout(total=float(settings.WEBHOOK_TIMEOUT_SECONDS))


class WebhookError(Exception):
    """The webhook could not be sent; ``message`` is safe to store and show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WebhookRefusedError(WebhookError):
    """The URL is not one this server may call; nothing was sent."""


class UnresolvableError(WebhookRefusedError):
    """The URL's host does not resolve (now); nothing was sent."""


def _deny() -> tuple[outbound.Network, ...]:
    return outbound.networks_of(settings.WEBHOOK_DENY_NETWORKS)


def _allow() -> tuple[outbound.Network, ...]:
    return outbound.networks_of(settings.WEBHOOK_ALLOW_NETWORKS)


def is_refused(address: str) -> bool:
    """True when the server must not connect to ``address`` for a webhook."""
    return outbound.is_denied(address) or outbound.is_denied(address, _deny(), allowed=_allow())


REFUSED = (
    "{host} is in a network this server does not send webhooks to (loopback, private or "
    "denied by the operator: WEBHOOK_DENY_NETWORKS, OUTBOUND_DENY_NETWORKS)."
)


UNRESOLVABLE = "{host} does not resolve; give a host name that resolves, or an address."


def check_url(url: str) -> None:
    """WebhookRefusedError unless ``url`` is an http(s) URL without credentials whose host
    resolves now, to addresses this server may call (every one of them is checked);
    UnresolvableError when the host resolves to nothing."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefusedError("Must be an http:// or https:// URL with a host.")
    if parts.username is not None or parts.password is not None:
        raise WebhookRefusedError("Must not contain a user name or password.")
    try:
        addresses = outbound.resolve(*outbound.host_and_port(url))
    except outbound.UnresolvableError:
        raise UnresolvableError(UNRESOLVABLE.format(host=parts.hostname)) from None
    except outbound.OutboundRefusedError as exc:
        raise WebhookRefusedError(str(exc)) from None
    if any(is_refused(address) for address in addresses):
        raise WebhookRefusedError(REFUSED.format(host=parts.hostname))


_HTTPPool, _HTTPSPool = outbound.peer_checked_pools(is_refused)


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST ``body`` to ``url``; the status code of the answer (a redirect is an answer, not
    followed). WebhookRefusedError or WebhookError when nothing was answered."""
    check_url(url)
    parts = urlsplit(url)
    host = str(parts.hostname)
    pool_class: Any = _HTTPSPool if parts.scheme == "https" else _HTTPPool
    pool = pool_class(host, parts.port, timeout=timeout(), retries=False, maxsize=1)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        response = pool.urlopen(
            "POST",
            target,
            body=body,
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
        )
        status = int(response.status)
        response.close()  # the body is not read: nothing of it is kept
        return status
    except outbound.RefusedPeerError:
        raise WebhookRefusedError(REFUSED.format(host=host)) from None
    except Exception as exc:
        reason = getattr(exc, "reason", None)
        if isinstance(reason, outbound.RefusedPeerError):
            raise WebhookRefusedError(REFUSED.format(host=host)) from None
        # The library's text may quote what was sent or received: the type only.
        kind = type(reason if isinstance(reason, Exception) else exc).__name__
        raise WebhookError(f"Sending to {host} failed ({kind}).") from None
    finally:
        pool.close()
