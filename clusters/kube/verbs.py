"""The calls the product makes on a cluster: its version and namespaces, and the Secret verbs
(read, list, create, replace, delete) and workload restarts of ``SecretsClient``, which
reuses one API connection for a batch of items. Nothing here logs or raises a Secret's
data."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from clusters.kube.clients import api_client
from clusters.kube.errors import calling

# (connect, read) seconds for every call: a dead cluster must not hang a request.
TIMEOUT = (5, 20)


@dataclass(frozen=True)
class SecretObject:
    """What is installed: a v1.Secret's name, type, data (plain strings), labels, annotations."""

    name: str
    type: str
    data: dict[str, str]
    labels: dict[str, str]
    annotations: dict[str, str]


def server_version(kubeconfig: str) -> str:
    """The cluster's ``/version`` gitVersion."""
    from kubernetes import client

    with api_client(kubeconfig) as api, calling("version", "Reading the server version"):
        info = client.VersionApi(api).get_code(_request_timeout=TIMEOUT)
        return str(info.git_version)


def ensure_namespace(kubeconfig: str, namespace: str) -> bool:
    """Create ``namespace`` unless it exists; True when it was created."""
    with secrets_client(kubeconfig) as client:
        return client.ensure_namespace(namespace)


def namespaces(kubeconfig: str, *, limit: int = 500) -> list[str]:
    """The names of the cluster's namespaces (up to ``limit``), sorted."""
    from kubernetes import client

    with api_client(kubeconfig) as api:
        core = client.CoreV1Api(api)
        with calling("namespace.list", "Listing namespaces"):
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
        with calling("workload.restart", f"Restarting {kind} {namespace}/{name}"):
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
        with calling("namespace.read", f"Reading namespace {namespace}"):
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
        with calling("namespace.create", f"Creating namespace {namespace}"):
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
        with calling("secret.read", f"Reading Secret {namespace}/{name}"):
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
        with calling("secret.list", f"Listing Secrets in {namespace}"):
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
        with calling("secret.create", f"Creating Secret {namespace}/{secret.name}"):
            _drain(
                self._core.create_namespaced_secret(
                    namespace,
                    self._body(namespace, secret),
                    _request_timeout=TIMEOUT,
                    _preload_content=False,
                )
            )

    def replace(self, namespace: str, secret: SecretObject) -> None:
        with calling("secret.update", f"Updating Secret {namespace}/{secret.name}"):
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
        with calling("secret.delete", f"Deleting Secret {namespace}/{name}"):
            try:
                self._core.delete_namespaced_secret(name, namespace, _request_timeout=TIMEOUT)
            except self._client.exceptions.ApiException as exc:
                if exc.status == 404:
                    return False
                raise
        return True


@contextmanager
def secrets_client(kubeconfig: str) -> Iterator[SecretsClient]:
    with api_client(kubeconfig) as api:
        yield SecretsClient(api)
