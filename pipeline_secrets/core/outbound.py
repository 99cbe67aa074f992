"""Where the server may connect on a tenant's behalf.

A tenant's input (a kubeconfig's ``server``, a credential's endpoint) names hosts the server
then calls. Before any such connection, ``check_url`` resolves the host and refuses it when
any address falls in ``settings.OUTBOUND_DENY_NETWORKS`` (by default link-local, where cloud
metadata services answer). ``OutboundRefusedError`` messages name the host, never a value.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefusedError(Exception):
    """A connection the operator's outbound rules do not allow; nothing was sent."""


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def denied_networks() -> tuple[Network, ...]:
    return _networks(tuple(settings.OUTBOUND_DENY_NETWORKS))


def _normalised(address: Address) -> Address:
    # ::ffff:169.254.169.254 reaches the IPv4 address: judge it as that.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def networks_of(spec: Iterable[str]) -> tuple[Network, ...]:
    """Parsed networks of a settings list (cached)."""
    return _networks(tuple(spec))


def is_denied(
    address: str,
    networks: Iterable[Network] | None = None,
    *,
    allowed: Iterable[Network] = (),
) -> bool:
    """True when ``address`` is in one of ``networks`` (default: ``OUTBOUND_DENY_NETWORKS``)
    and in none of ``allowed``."""
    ip = _normalised(ipaddress.ip_address(address.split("%", 1)[0]))
    if any(ip in net for net in allowed):
        return False
    return any(ip in net for net in (denied_networks() if networks is None else networks))


def check_host(
    host: str,
    port: int,
    *,
    networks: tuple[Network, ...] | None = None,
    allowed: tuple[Network, ...] = (),
) -> None:
    """Refuse ``host`` when it is, or resolves to, an address in a denied network
    (``networks``, default ``OUTBOUND_DENY_NETWORKS``) that ``allowed`` does not except."""
    networks = denied_networks() if networks is None else networks
    if not networks:
        return
    bare = host.strip("[]")
    try:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        # An unresolvable name cannot be connected to either; the client reports it.
        return
    for info in infos:
        if is_denied(str(info[4][0]), networks, allowed=allowed):
            raise OutboundRefusedError(
                f"{host} is in a network this server does not connect to (OUTBOUND_DENY_NETWORKS)."
            )


def check_url(
    url: str, *, networks: tuple[Network, ...] | None = None, allowed: tuple[Network, ...] = ()
) -> None:
    """``check_host`` for the host and port of an http(s) URL."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise OutboundRefusedError("The URL has no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundRefusedError("The URL has an invalid port.") from None
    check_host(parts.hostname, port, networks=networks, allowed=allowed)


class RefusedPeerError(Exception):
    """At connect time a checked name resolved to an address the rules refuse."""


def peer_checked_pools(
    refused: Callable[[str], bool],
) -> tuple[type[HTTPConnectionPool], type[HTTPSConnectionPool]]:
    """urllib3 pool classes whose connections check the address actually connected to.

    The name was checked before connecting; checking the peer as well keeps a name that
    resolves differently the second time from reaching a refused network."""

    def check(sock: socket.socket) -> None:
        try:
            address = str(sock.getpeername()[0])
        except (OSError, IndexError):
            return
        if refused(address):
            sock.close()
            raise RefusedPeerError

    class CheckedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            check(sock)
            return sock

    class CheckedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            check(sock)
            return sock

    class CheckedHTTPPool(HTTPConnectionPool):
        ConnectionCls = CheckedHTTPConnection

    class CheckedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = CheckedHTTPSConnection

    return CheckedHTTPPool, CheckedHTTPSPool
