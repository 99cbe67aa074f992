"""The one module that talks to Kubernetes, through the official client.

Every function takes a kubeconfig (YAML text) and uses an API client built from it, with
short timeouts. Failures become ``KubeError`` with the Kubernetes reason and a status;
nothing here logs or raises a Secret's data. A client, with its kept-alive TLS
connections, serves the calls that follow for the same kubeconfig text (see ``_api``).

Invariants:
- a kubeconfig holds its credentials inline: a file path, a plugin or a proxy anywhere in it
  is refused, when it is given and again when it is used (so one stored earlier is never
  followed); the client is built from a copy holding only the current context's server,
  TLS settings and inline credentials;
- the client connects only to that server, after ``pipeline_secrets.core.outbound`` allowed it
  (and checks the address it connected to), follows no redirect and uses no proxy;
- whatever the client raises becomes a ``KubeError`` carrying the status and the Kubernetes
  reason word, never a message of the client or of the server, and never chained.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from urllib3 import BaseHTTPResponse, PoolManager
from urllib3.util.retry import Retry

from pipeline_secrets.core import metrics, outbound
from secrets_app.types.kubeconfig_check import parse_kubeconfig, server_of

__all__ = ["KubeError", "KubeRefusedError", "SecretObject", "parse_kubeconfig", "server_of"]

# (connect, read) seconds for every call: a dead cluster must not hang a request.
TIMEOUT = (5, 20)


class KubeError(Exception):
    """A Kubernetes call failed. ``status`` is the HTTP status, 0 when unreachable."""

    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason

    @property
    def unreachable(self) -> bool:
        return self.status == 0


class KubeRefusedError(KubeError):
    """The kubeconfig, or the address of its server, is refused: nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=400, reason="BadRequest")


@dataclass(frozen=True)
class SecretObject:
    """What is installed: a v1.Secret's name, type, data (plain strings), labels, annotations."""

    name: str
    type: str
    data: dict[str, str]
    labels: dict[str, str]
    annotations: dict[str, str]


# Keys that make the client read a local file, run a program or go through another host. A
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


def _client(config: dict[str, Any]) -> Any:
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
class _Built:
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
_built: OrderedDict[str, _Built] = OrderedDict()
_built_lock = threading.Lock()
KEPT_CLIENTS = 32
CLIENT_IDLE_SECONDS = 300.0


def _entry(kubeconfig: str) -> _Built:
    """The parsed kubeconfig of this text (parsed once); ValueError if it is refused."""
    key = hashlib.sha256(kubeconfig.encode()).hexdigest()
    with _built_lock:
        found = _built.get(key)
        if found is not None:
            _built.move_to_end(key)
            return found
    found = _Built(config=parse_kubeconfig(kubeconfig))
    with _built_lock:
        found = _built.setdefault(key, found)
        now = time.monotonic()
        stale = [
            k
            for k, entry in _built.items()
            if entry.client is not None and now - entry.used > CLIENT_IDLE_SECONDS
        ]
        while len(_built) - len(stale) > KEPT_CLIENTS:
            stale.append(next(k for k in _built if k not in stale))
        for k in stale:
            dropped = _built.pop(k)
            if dropped.client is not None:
                # Idle connections close now; one in use closes when its call ends.
                dropped.client.rest_client.pool_manager.clear()
    return found


def check_kubeconfig(kubeconfig: str) -> dict[str, Any]:
    """The sanitised kubeconfig (``parse_kubeconfig``) when it may be used now: well formed,
    credentials inline, its server outside the denied networks. KubeRefusedError if not."""
    return _checked(kubeconfig).config


def _checked(kubeconfig: str) -> _Built:
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
def _api(kubeconfig: str) -> Iterator[Any]:
    """The API client of ``kubeconfig``, checked for this use, built on first use and kept
    for the calls that follow (``_entry``)."""
    entry = _checked(kubeconfig)
    if entry.client is None:
        try:
            client = _client(entry.config)
        except Exception as exc:
            raise KubeRefusedError(
                f"The kubeconfig cannot be used ({type(exc).__name__})."
            ) from None
        with _built_lock:
            if entry.client is None:
                entry.client = client
            else:
                client.rest_client.pool_manager.clear()
    entry.used = time.monotonic()
    yield entry.client


def _reason(status: int, body: Any) -> str:
    """The Kubernetes reason word of an error answer (such as Forbidden), never its message."""
    try:
        document = json.loads(body or "")
    except (ValueError, TypeError):
        document = None
    reason = document.get("reason") if isinstance(document, dict) else None
    if isinstance(reason, str) and REASON.fullmatch(reason):
        return reason
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# A Kubernetes StatusReason: one CamelCase word. Anything else from the server is not shown.
REASON = re.compile(r"[A-Z][A-Za-z]{0,63}")


def _error(action: str, exc: BaseException) -> KubeError:
    """A KubeError for what the client raised: the status and reason, never a message that
    could carry what was sent or what the server answered."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError, MaxRetryError

    if isinstance(exc, outbound.RefusedPeerError):
        return KubeRefusedError(
            f"{action}: the server is in a network this server does not connect to "
            "(OUTBOUND_DENY_NETWORKS)."
        )
    if isinstance(exc, ApiException) and exc.status:
        reason = _reason(exc.status, exc.body)
        return KubeError(
            f"{action}: the cluster answered {exc.status} {reason}.",
            status=exc.status,
            reason=reason,
        )
    if isinstance(exc, ApiException):  # status 0: TLS failure or a request never sent
        return KubeError(f"{action}: the cluster is unreachable (TLS or connection error).")
    if isinstance(exc, MaxRetryError) and exc.reason is not None:
        if isinstance(exc.reason, outbound.RefusedPeerError):
            return _error(action, exc.reason)
        kind = type(exc.reason).__name__
        return KubeError(f"{action}: the cluster is unreachable ({kind}).")
    if isinstance(exc, HTTPError | OSError):
        return KubeError(f"{action}: the cluster is unreachable ({type(exc).__name__}).")
    return KubeError(
        f"{action}: the request failed ({type(exc).__name__}).", status=502, reason="BadGateway"
    )


@contextmanager
def _errors(operation: str, action: str) -> Iterator[None]:
    """Time one call as ``operation`` (a fixed word for the metrics) and turn what the client
    raises into a KubeError about ``action`` (the sentence callers see)."""
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    except KubeError:
        raise
    except Exception as exc:
        # ``from None``: the client's exception (whose text may hold a header that was
        # sent, or the server's answer) is neither shown nor chained into tracebacks.
        raise _error(action, exc) from None
    finally:
        metrics.observe_kube_call(operation, outcome, time.perf_counter() - started)


def server_version(kubeconfig: str) -> str:
    """The cluster's ``/version`` gitVersion."""
    from kubernetes import client

    with _api(kubeconfig) as api, _errors("version", "Reading the server version"):
        info = client.VersionApi(api).get_code(_request_timeout=TIMEOUT)
        return str(info.git_version)


def ensure_namespace(kubeconfig: str, namespace: str) -> bool:
    """Create ``namespace`` unless it exists; True when it was created."""
    with secrets_client(kubeconfig) as client:
        return client.ensure_namespace(namespace)


def namespaces(kubeconfig: str, *, limit: int = 500) -> list[str]:
    """The names of the cluster's namespaces (up to ``limit``), sorted."""
    from kubernetes import client

    with _api(kubeconfig) as api:
        core = client.CoreV1Api(api)
        with _errors("namespace.list", "Listing namespaces"):
            found = core.list_namespace(limit=limit, _request_timeout=TIMEOUT)
    return sorted(str(item.metadata.name) for item in found.items if item.metadata)


def _encode(data: dict[str, str]) -> dict[str, bytes | str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}


def _decode(data: Any) -> dict[str, str]:
    return {str(k): base64.b64decode(v).decode() for k, v in (data or {}).items()}


def _secret_object(obj: Any) -> SecretObject:
    meta = obj.metadata
    return SecretObject(
        name=meta.name,
        type=obj.type or "Opaque",
        data=_decode(obj.data),
        labels=dict(meta.labels or {}),
        annotations=dict(meta.annotations or {}),
    )


def _drain(response: Any) -> None:
    """Read and let go of an answer whose body is not needed (the written object, echoed
    back): its connection goes back to the pool, and no model is built from it."""
    response.read()
    response.release_conn()


# The workloads whose pod template ``annotate_pod_template`` patches, by kind.
WORKLOAD_KINDS = {
    "Deployment": "deployment",
    "StatefulSet": "stateful_set",
    "DaemonSet": "daemon_set",
}


class SecretsClient:
    """Secret verbs on one cluster, reusing one API connection for a batch of items."""

    def __init__(self, api: Any) -> None:
        from kubernetes import client

        self._client = client
        self._core = client.CoreV1Api(api)
        self._apps = client.AppsV1Api(api)

    def annotate_pod_template(
        self, namespace: str, kind: str, name: str, annotations: dict[str, str]
    ) -> None:
        """Merge ``annotations`` into the pod template of a Deployment, StatefulSet or
        DaemonSet, so Kubernetes rolls its pods (what ``kubectl rollout restart`` does)."""
        patch = getattr(self._apps, f"patch_namespaced_{WORKLOAD_KINDS[kind]}")
        body = {"spec": {"template": {"metadata": {"annotations": annotations}}}}
        with _errors("workload.restart", f"Restarting {kind} {namespace}/{name}"):
            patch(
                name,
                namespace,
                body,
                _request_timeout=TIMEOUT,
                _content_type="application/merge-patch+json",
            )

    def ensure_namespace(self, namespace: str) -> bool:
        """Create ``namespace`` unless it exists; True when it was created."""
        client = self._client
        with _errors("namespace.read", f"Reading namespace {namespace}"):
            try:
                _drain(
                    self._core.read_namespace(
                        namespace, _request_timeout=TIMEOUT, _preload_content=False
                    )
                )
                return False
            except client.exceptions.ApiException as exc:
                if exc.status not in (403, 404):
                    raise
                if exc.status == 403:
                    # Credentials scoped to one namespace may not read namespaces at all;
                    # the Secret calls will tell whether the namespace is usable.
                    return False
        body = client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace))
        with _errors("namespace.create", f"Creating namespace {namespace}"):
            try:
                _drain(
                    self._core.create_namespace(
                        body, _request_timeout=TIMEOUT, _preload_content=False
                    )
                )
            except client.exceptions.ApiException as exc:
                if exc.status != 409:
                    raise
        return True

    def get(self, namespace: str, name: str) -> SecretObject | None:
        with _errors("secret.read", f"Reading Secret {namespace}/{name}"):
            try:
                obj: Any = self._core.read_namespaced_secret(
                    name, namespace, _request_timeout=TIMEOUT
                )
            except self._client.exceptions.ApiException as exc:
                if exc.status == 404:
                    return None
                raise
            return _secret_object(obj)

    def list(self, namespace: str) -> dict[str, SecretObject]:
        """Every Secret in the namespace by name (one call for a whole batch)."""
        with _errors("secret.list", f"Listing Secrets in {namespace}"):
            items: Any = self._core.list_namespaced_secret(namespace, _request_timeout=TIMEOUT)
            return {obj.metadata.name: _secret_object(obj) for obj in items.items}

    def _body(self, namespace: str, secret: SecretObject) -> Any:
        return self._client.V1Secret(
            metadata=self._client.V1ObjectMeta(
                name=secret.name,
                namespace=namespace,
                labels=secret.labels,
                annotations=secret.annotations,
            ),
            type=secret.type,
            data=_encode(secret.data),
        )

    def create(self, namespace: str, secret: SecretObject) -> None:
        with _errors("secret.create", f"Creating Secret {namespace}/{secret.name}"):
            _drain(
                self._core.create_namespaced_secret(
                    namespace,
                    self._body(namespace, secret),
                    _request_timeout=TIMEOUT,
                    _preload_content=False,
                )
            )

    def replace(self, namespace: str, secret: SecretObject) -> None:
        with _errors("secret.update", f"Updating Secret {namespace}/{secret.name}"):
            _drain(
                self._core.replace_namespaced_secret(
                    secret.name,
                    namespace,
                    self._body(namespace, secret),
                    _request_timeout=TIMEOUT,
                    _preload_content=False,
                )
            )

    def delete(self, namespace: str, name: str) -> bool:
        """Delete the Secret; False when it was already gone."""
        with _errors("secret.delete", f"Deleting Secret {namespace}/{name}"):
            try:
                self._core.delete_namespaced_secret(name, namespace, _request_timeout=TIMEOUT)
            except self._client.exceptions.ApiException as exc:
                if exc.status == 404:
                    return False
                raise
        return True


@contextmanager
def secrets_client(kubeconfig: str) -> Iterator[SecretsClient]:
    with _api(kubeconfig) as api:
        yield SecretsClient(api)
