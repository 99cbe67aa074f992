"""The one way to Vault: hvac's API over one pooled ``requests`` session, and the choice of
the node calls go to.

Every call (KV, auth, sys, health) goes through a ``hvac.Client`` made by ``hvac_client``,
and every client sends through ``SESSION``: one keep-alive connection pool per Vault node,
shared by all clients and threads. requests follows a standby's redirect to the active
node keeping method, body and the Vault token. TLS follows hvac's environment variables
(``VAULT_CACERT``, ``VAULT_CAPATH``, ``VAULT_CLIENT_CERT``/``VAULT_CLIENT_KEY``); proxies
and netrc are never used (Vault is addressed directly).

``VAULT_ADDR`` names one address (a single server, or a load balancer in front of a
cluster) or several, comma-separated: the nodes of a cluster. With several, calls go to the
active node; a standby that receives a call forwards or redirects it, so either way works,
but talking to the active node directly saves a hop and lets a failed call find the new
active node after a leader election.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import hvac
import requests
from django.conf import settings
from hvac.constants import client as hvac_env
from requests.adapters import HTTPAdapter

logger = logging.getLogger(__name__)

# Keep-alive connections kept per Vault node: a worker's request threads (gunicorn
# --threads, 8 in the chart) plus the readers of one listing or install batch may all be in
# a call at once. With fewer, a busy moment would close connections that the next calls then
# open again (a TCP and, with TLS, a handshake each).
POOL_SIZE = 32
# How long one health probe of a node may take while looking for the active one.
PROBE_TIMEOUT = 1.0


def _tls() -> tuple[Any, Any]:
    """(verify, cert) as hvac reads them from the environment."""
    verify: Any = hvac_env.VAULT_CACERT or hvac_env.VAULT_CAPATH or True
    cert: Any = None
    if hvac_env.VAULT_CLIENT_CERT:
        cert = (hvac_env.VAULT_CLIENT_CERT, hvac_env.VAULT_CLIENT_KEY)
    return verify, cert


def new_session() -> requests.Session:
    """A session with a connection pool of ``POOL_SIZE`` per node."""
    session = requests.Session()
    session.trust_env = False  # no proxy or netrc look-ups
    session.verify, session.cert = _tls()
    pooled = HTTPAdapter(pool_connections=8, pool_maxsize=POOL_SIZE)
    session.mount("http://", pooled)
    session.mount("https://", pooled)
    return session


SESSION = new_session()


def hvac_client(url: str, token: str | None = None, timeout: float | None = None) -> hvac.Client:
    """An hvac client of ``url`` sending through ``SESSION``."""
    verify, cert = _tls()
    return hvac.Client(
        url=url,
        token=token,
        timeout=settings.VAULT_TIMEOUT if timeout is None else timeout,
        verify=verify,
        cert=cert,
        session=SESSION,
    )


# --------------------------------------------------------------------------- addresses

_active: dict[str, str] = {}  # VAULT_ADDR setting -> the node believed active
_active_lock = threading.Lock()


def addresses() -> list[str]:
    """The configured Vault addresses, in order."""
    found = [part.strip().rstrip("/") for part in str(settings.VAULT_ADDR).split(",")]
    return [address for address in found if address] or ["http://127.0.0.1:8200"]


def current_address() -> str:
    """The address calls go to now: the node last found active, else the first one."""
    return _active.get(str(settings.VAULT_ADDR)) or addresses()[0]


def health_status(address: str, *, timeout: float, standby_ok: bool) -> int:
    """The status of ``sys/health`` on ``address``: 200 an active node (or, with
    ``standby_ok``, a standby), 429 a standby, 503 sealed, 501 not initialised. A node that
    does not answer raises requests' exception for it."""
    answer = hvac_client(address, timeout=timeout).sys.read_health_status(
        standby_ok=standby_ok or None, method="GET"
    )
    return 200 if isinstance(answer, dict) else int(answer.status_code)


def _is_active(address: str) -> bool:
    try:
        return health_status(address, timeout=PROBE_TIMEOUT, standby_ok=False) == 200
    except requests.RequestException:
        return False


def find_active() -> bool:
    """Look for the active node among the configured addresses and send calls there from
    now on; True when one answered as active (or only one address is configured)."""
    configured = addresses()
    if len(configured) == 1:
        return True
    with _active_lock:
        for address in [current_address(), *configured]:
            if _is_active(address):
                if _active.get(str(settings.VAULT_ADDR)) != address:
                    logger.info("vault active node is now %s", address)
                _active[str(settings.VAULT_ADDR)] = address
                return True
    return False


_REASONS = {503: "sealed", 501: "not initialised"}


def health() -> tuple[bool, str]:
    """(ready, reason): Vault answers, is initialised, unsealed and has an active node
    (any configured node active, or a standby that forwards to one)."""
    reasons = []
    for address in [current_address(), *addresses()]:
        try:
            status = health_status(address, timeout=settings.VAULT_TIMEOUT, standby_ok=True)
        except requests.RequestException as exc:
            reasons.append(f"unreachable ({type(exc).__name__})")
            continue
        if status == 200:
            return True, "ok"
        reasons.append(_REASONS.get(status, f"status {status}"))
        if len(addresses()) == 1:
            break
    return False, reasons[0]
