"""Where OpenBao may connect for an organization's database connection.

The engine connects to the host a tenant gives, so that host passes the same rules as the
server's own calls for tenants: never ``OUTBOUND_DENY_NETWORKS``, and loopback, private and
other non-public networks (``DATABASE_DENY_NETWORKS``) only where the operator allows them
(``DATABASE_ALLOW_NETWORKS``, or one ``host:port`` in ``DATABASE_ALLOW_ENDPOINTS``). The
check runs before every configuration the engine is given and before every issue.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError

from pipeline_secrets.core import outbound

REFUSED = (
    "{host} is in a network this server does not let the database engine connect to "
    "(loopback, private or denied by the operator: DATABASE_DENY_NETWORKS, "
    "OUTBOUND_DENY_NETWORKS); an operator may allow it with DATABASE_ALLOW_NETWORKS."
)


def endpoint_allowed(host: str, port: int) -> bool:
    wanted = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return wanted in set(getattr(settings, "DATABASE_ALLOW_ENDPOINTS", []))


def check(host: str, port: int) -> None:
    """ValidationError on ``host`` unless the engine may connect to ``host:port``."""
    try:
        outbound.check_host(host, port)
        if not endpoint_allowed(host, port):
            deny = outbound.networks_of(settings.DATABASE_DENY_NETWORKS)
            allow = outbound.networks_of(settings.DATABASE_ALLOW_NETWORKS)
            outbound.check_host(host, port, networks=deny, allowed=allow)
        outbound.resolve(host, port)
    except outbound.UnresolvableError:
        raise ValidationError({"host": f"{host} does not resolve."}) from None
    except outbound.OutboundRefusedError:
        raise ValidationError({"host": REFUSED.format(host=host)}) from None
