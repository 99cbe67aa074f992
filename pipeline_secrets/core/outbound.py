"""Where the server may connect on a tenant's behalf.

A tenant's input (a kubeconfig's ``server``, a credential's endpoint) names hosts the server
then calls. Before any such connection, ``check_url`` resolves the host and refuses it when
any address falls in ``settings.OUTBOUND_DENY_NETWORKS`` (by default link-local, where cloud
metadata services answer). ``OutboundRefusedError`` messages name the host, never a value.

An IPv6 address that carries an IPv4 address (IPv4-mapped and -translated, IPv4-compatible,
NAT64 ``64:ff9b::/96`` and ``64:ff9b:1::/48``, 6to4 ``2002::/16``, Teredo ``2001::/32``)
reaches that IPv4 address through a translator or tunnel: it is judged as itself and as
every IPv4 address it may carry, and refused when any of them is.
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


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# RFC 6052: where each NAT64 prefix length puts the IPv4 address (bit offsets of its
# pieces); bits 64-71 (the "u" octet) are never part of it.
_RFC6052 = {48: ((48, 16), (72, 16)), 56: ((56, 8), (72, 24)), 64: ((72, 32),), 96: ((96, 32),)}


def _from_bits(value: int, pieces: tuple[tuple[int, int], ...]) -> ipaddress.IPv4Address:
    out = 0
    for offset, width in pieces:
        out = (out << width) | ((value >> (128 - offset - width)) & ((1 << width) - 1))
    return ipaddress.IPv4Address(out)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses ``address`` may reach through a translator or a tunnel."""
    value = int(address)
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _IPV4_TRANSLATED or address in _NAT64 or address in _IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if address in _NAT64_LOCAL:
        # The local-use prefix may be any length from /48 on: every reading counts.
        found += [_from_bits(value, pieces) for pieces in _RFC6052.values()]
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found += list(address.teredo)
    return found


def _candidates(address: Address) -> list[Address]:
    if isinstance(address, ipaddress.IPv6Address):
        return [address, *embedded_ipv4(address)]
    return [address]


def networks_of(spec: Iterable[str]) -> tuple[Network, ...]:
    """Parsed networks of a settings list (cached)."""
    return _networks(tuple(spec))


def is_denied(
    address: str,
    networks: Iterable[Network] | None = None,
    *,
    allowed: Iterable[Network] = (),
) -> bool:
    """True when ``address``, or an IPv4 address embedded in it, is in one of ``networks``
    (default: ``OUTBOUND_DENY_NETWORKS``) and in none of ``allowed``."""
    denied = denied_networks() if networks is None else tuple(networks)
    allowed = tuple(allowed)
    for ip in _candidates(ipaddress.ip_address(address.split("%", 1)[0])):
        if any(ip in net for net in denied) and not any(ip in net for net in allowed):
            return True
    return False


class UnresolvableError(OutboundRefusedError):
    """The name does not resolve (now): nothing can be checked, nothing was sent."""


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to; UnresolvableError when it resolves to none."""
    bare = host.strip("[]")
    try:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnresolvableError(f"{host} does not resolve.") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UnresolvableError(f"{host} does not resolve.")
    return addresses


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
    try:
        addresses = resolve(host, port)
    except UnresolvableError:
        # An unresolvable name cannot be connected to either; the client reports it.
        return
    for address in addresses:
        if is_denied(address, networks, allowed=allowed):
            raise OutboundRefusedError(
                f"{host} is in a network this server does not connect to (OUTBOUND_DENY_NETWORKS)."
            )


def host_and_port(url: str) -> tuple[str, int]:
    """The host and port an http(s) URL connects to; OutboundRefusedError when it has none."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise OutboundRefusedError("The URL has no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundRefusedError("The URL has an invalid port.") from None
    return parts.hostname, port


def check_url(
    url: str, *, networks: tuple[Network, ...] | None = None, allowed: tuple[Network, ...] = ()
) -> None:
    """``check_host`` for the host and port of an http(s) URL."""
    host, port = host_and_port(url)
    check_host(host, port, networks=networks, allowed=allowed)


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
