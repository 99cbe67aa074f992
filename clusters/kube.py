"""The one module that talks to Kubernetes, through the official client.

Every function takes a kubeconfig (YAML text) and builds an API client from it, with short
timeouts. Failures become ``KubeError`` with the Kubernetes reason and a status; nothing
here logs or raises a Secret's data.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import yaml

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


@dataclass(frozen=True)
class SecretObject:
    """What is installed: a v1.Secret's name, type, data (plain strings), labels, annotations."""

    name: str
    type: str
    data: dict[str, str]
    labels: dict[str, str]
    annotations: dict[str, str]


def parse_kubeconfig(text: str) -> dict[str, Any]:
    """The kubeconfig as a dict; ValueError naming what is wrong (never quoting it)."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ValueError("is not valid YAML") from None
    if not isinstance(config, dict):
        raise ValueError("is not a kubeconfig document")
    current = config.get("current-context")
    contexts = {c.get("name"): c.get("context") or {} for c in config.get("contexts") or []}
    if not current or current not in contexts:
        raise ValueError("has no current-context naming one of its contexts")
    context = contexts[current]
    clusters = {c.get("name"): c.get("cluster") or {} for c in config.get("clusters") or []}
    users = {u.get("name"): u.get("user") or {} for u in config.get("users") or []}
    if not (clusters.get(context.get("cluster")) or {}).get("server"):
        raise ValueError("the current context's cluster has no server")
    user = users.get(context.get("user"))
    credentials = ("client-certificate-data", "client-key-data", "token", "username", "exec")
    if not user or not any(user.get(k) for k in credentials):
        raise ValueError("the current context's user has no credentials")
    if user.get("exec") or user.get("auth-provider"):
        raise ValueError("uses an exec or auth-provider plugin, which the product cannot run")
    return config


def server_of(config: dict[str, Any]) -> str:
    current = config["current-context"]
    context = next(c["context"] for c in config["contexts"] if c["name"] == current)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    return str(cluster["server"])


@contextmanager
def _api(kubeconfig: str) -> Iterator[Any]:
    from kubernetes import config as kube_config

    try:
        client = kube_config.new_client_from_config_dict(parse_kubeconfig(kubeconfig))
    except ValueError as exc:
        raise KubeError(f"The kubeconfig {exc}.", status=400) from None
    except Exception as exc:
        raise KubeError(
            f"The kubeconfig cannot be used ({type(exc).__name__}).", status=400
        ) from None
    try:
        yield client
    finally:
        client.close()


@contextmanager
def _errors(action: str) -> Iterator[None]:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        yield
    except ApiException as exc:
        reason, message = exc.reason or "", ""
        try:
            body = yaml.safe_load(exc.body or "") or {}
            message = body.get("message", "") if isinstance(body, dict) else ""
            reason = (body.get("reason") if isinstance(body, dict) else None) or reason
        except yaml.YAMLError:
            pass
        raise KubeError(
            f"{action}: {message or reason or 'error'}", status=exc.status or 500, reason=reason
        ) from None
    except (HTTPError, OSError) as exc:
        raise KubeError(f"{action}: the cluster is unreachable ({type(exc).__name__})") from None


def server_version(kubeconfig: str) -> str:
    """The cluster's ``/version`` gitVersion."""
    from kubernetes import client

    with _api(kubeconfig) as api, _errors("Reading the server version"):
        info = client.VersionApi(api).get_code(_request_timeout=TIMEOUT)
    return str(info.git_version)


def ensure_namespace(kubeconfig: str, namespace: str) -> bool:
    """Create ``namespace`` unless it exists; True when it was created."""
    from kubernetes import client

    with _api(kubeconfig) as api:
        core = client.CoreV1Api(api)
        with _errors(f"Reading namespace {namespace}"):
            try:
                core.read_namespace(namespace, _request_timeout=TIMEOUT)
                return False
            except client.exceptions.ApiException as exc:
                if exc.status not in (403, 404):
                    raise
                if exc.status == 403:
                    # Credentials scoped to one namespace may not read namespaces at all;
                    # the Secret calls will tell whether the namespace is usable.
                    return False
        body = client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace))
        with _errors(f"Creating namespace {namespace}"):
            try:
                core.create_namespace(body, _request_timeout=TIMEOUT)
            except client.exceptions.ApiException as exc:
                if exc.status != 409:
                    raise
    return True


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


class SecretsClient:
    """Secret verbs on one cluster, reusing one API connection for a batch of items."""

    def __init__(self, api: Any) -> None:
        from kubernetes import client

        self._client = client
        self._core = client.CoreV1Api(api)

    def get(self, namespace: str, name: str) -> SecretObject | None:
        with _errors(f"Reading Secret {namespace}/{name}"):
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
        with _errors(f"Listing Secrets in {namespace}"):
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
        with _errors(f"Creating Secret {namespace}/{secret.name}"):
            self._core.create_namespaced_secret(
                namespace, self._body(namespace, secret), _request_timeout=TIMEOUT
            )

    def replace(self, namespace: str, secret: SecretObject) -> None:
        with _errors(f"Updating Secret {namespace}/{secret.name}"):
            self._core.replace_namespaced_secret(
                secret.name, namespace, self._body(namespace, secret), _request_timeout=TIMEOUT
            )

    def delete(self, namespace: str, name: str) -> bool:
        """Delete the Secret; False when it was already gone."""
        with _errors(f"Deleting Secret {namespace}/{name}"):
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
