"""API clients built from a kubeconfig, one per kubeconfig text, kept for the calls that
follow with their kept-alive TLS connections.

A kubeconfig is checked at every use (well formed, credentials inline, its server outside
the denied networks); the client is built from its sanitised copy, connects only to that
server (checking the address it connected to), follows no redirect and uses no proxy.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from urllib3 import BaseHTTPResponse, PoolManager
from urllib3.util.retry import Retry

from clusters.kube.errors import KubeRefusedError
from pipeline_secrets.core import outbound
from secrets_app.types.kubeconfig_check import parse_kubeconfig, server_of

# Pools that check the address they connected to before anything is sent.
_HTTPPool, _HTTPSPool = outbound.peer_checked_pools(outbound.is_denied)


class _DirectPoolManager(PoolManager):
    """Talks to the server it is asked for and nothing else: redirects are returned to the
    client (which reports them as errors), never followed; no proxy."""

    def __init__(self, **connection_pool_kw: Any) -> None:
        super().__init__(**connection_pool_kw)
        self.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def urlopen(  # type: ignore[override]
        self, method: str, url: str, redirect: bool = True, **kw: Any
    ) -> BaseHTTPResponse:
        return super().urlopen(method, url, redirect=False, **kw)


def build_client(config: dict[str, Any]) -> Any:
    """An API client for a sanitised kubeconfig, connecting only to its server."""
    from kubernetes.client import ApiClient, Configuration
    from kubernetes.config import kube_config

    configuration = Configuration()
    kube_config.load_kube_config_from_dict(
        config_dict=config, client_configuration=configuration, persist_config=False
    )
    configuration.proxy = None  # never one from the environment either
    # Should a redirect reach urllib3's own handling, it is answered, not followed.
    configuration.retries = Retry(3, redirect=0, raise_on_redirect=False)
    api = ApiClient(configuration=configuration)
    built = api.rest_client.pool_manager
    if type(built) is not PoolManager:
        raise RuntimeError("the client would go through a proxy")
    api.rest_client.pool_manager = _DirectPoolManager(**built.connection_pool_kw)
    built.clear()
    return api


@dataclass
class KeptClient:
    """A kubeconfig's sanitised form and the client built from it, and when it was last
    handed out (monotonic seconds)."""

    config: dict[str, Any]
    client: Any = None
    used: float = 0.0


# By the SHA-256 of the kubeconfig text, most recently used last. Parsing the YAML and
# building a client (TLS context, certificates) cost more than a Secret write; the TLS
# handshake of a new connection costs more again. What is kept depends on the text alone:
# a new kubeconfig is a new entry, and the checks that depend on the operator's settings
# (the server's network) run at every use.
kept: OrderedDict[str, KeptClient] = OrderedDict()
kept_lock = threading.Lock()
KEPT_CLIENTS = 32
CLIENT_IDLE_SECONDS = 300.0


def _entry(kubeconfig: str) -> KeptClient:
    """The parsed kubeconfig of this text (parsed once); ValueError if it is refused."""
    key = hashlib.sha256(kubeconfig.encode()).hexdigest()
    with kept_lock:
        found = kept.get(key)
        if found is not None:
            kept.move_to_end(key)
            return found
    found = KeptClient(config=parse_kubeconfig(kubeconfig))
    with kept_lock:
        found = kept.setdefault(key, found)
        now = time.monotonic()
        stale = [
            k
            for k, entry in kept.items()
            if entry.client is not None and now - entry.used > CLIENT_IDLE_SECONDS
        ]
        while len(kept) - len(stale) > KEPT_CLIENTS:
            stale.append(next(k for k in kept if k not in stale))
        for k in stale:
            dropped = kept.pop(k)
            if dropped.client is not None:
                # Idle connections close now; one in use closes when its call ends.
                dropped.client.rest_client.pool_manager.clear()
    return found


def check_kubeconfig(kubeconfig: str) -> dict[str, Any]:
    """The sanitised kubeconfig (``parse_kubeconfig``) when it may be used now: well formed,
    credentials inline, its server outside the denied networks. KubeRefusedError if not."""
    return _checked(kubeconfig).config


def _checked(kubeconfig: str) -> KeptClient:
    try:
        entry = _entry(kubeconfig)
    except ValueError as exc:
        raise KubeRefusedError(f"The kubeconfig {exc}.") from None
    try:
        outbound.check_url(server_of(entry.config))
    except outbound.OutboundRefusedError as exc:
        raise KubeRefusedError(f"The kubeconfig's server is refused: {exc}") from None
    return entry


@contextmanager
def api_client(kubeconfig: str) -> Iterator[Any]:
    """The API client of ``kubeconfig``, checked for this use, built on first use and kept
    for the calls that follow (``_entry``)."""
    entry = _checked(kubeconfig)
    if entry.client is None:
        try:
            client = build_client(entry.config)
        except Exception as exc:
            raise KubeRefusedError(
                f"The kubeconfig cannot be used ({type(exc).__name__})."
            ) from None
        with kept_lock:
            if entry.client is None:
                entry.client = client
            else:
                client.rest_client.pool_manager.clear()
    entry.used = time.monotonic()
    yield entry.client
