"""Where the server may connect on a tenant's behalf.

A tenant's input (a kubeconfig's ``server``, a credential's endpoint) names hosts the server
then calls. Before any such connection, ``check_url`` resolves the host and refuses it when
any address falls in ``settings.OUTBOUND_DENY_NETWORKS`` (by default link-local, where cloud
metadata services answer). ``OutboundRefusedError`` messages name the host, never a value.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings

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


def is_denied(address: str, networks: Iterable[Network] | None = None) -> bool:
    ip = _normalised(ipaddress.ip_address(address.split("%", 1)[0]))
    return any(ip in net for net in (denied_networks() if networks is None else networks))


def check_host(host: str, port: int) -> None:
    """Refuse ``host`` when it is, or resolves to, an address in a denied network."""
    networks = denied_networks()
    if not networks:
        return
    bare = host.strip("[]")
    try:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        # An unresolvable name cannot be connected to either; the client reports it.
        return
    for info in infos:
        if is_denied(str(info[4][0]), networks):
            raise OutboundRefusedError(
                f"{host} is in a network this server does not connect to (OUTBOUND_DENY_NETWORKS)."
            )


def check_url(url: str) -> None:
    """``check_host`` for the host and port of an http(s) URL."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise OutboundRefusedError("The URL has no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundRefusedError("The URL has an invalid port.") from None
    check_host(parts.hostname, port)
