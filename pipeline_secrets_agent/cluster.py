"""Everything the agent does on its cluster, through the official ``kubernetes`` client:
the managed Secrets (list, read, create, replace, delete), workload restarts, the
SecretSync objects and their status.

One ``ApiClient`` with a connection pool big enough for the reconciler's threads. Answers
are read as JSON, not as the client's models (building 1,000 models costs more than the
calls). Nothing here logs or raises a Secret's data: errors name the object and the
API's status."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines
from urllib3.exceptions import HTTPError

from pipeline_secrets_agent.desired import (
    CLUSTER_LABEL,
    MANAGED_BY,
    MANAGED_SELECTOR,
    ORG_LABEL,
    Key,
    SecretBody,
)

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "secrets.pipeline.io", "v1alpha1", "secretsyncs"
RESTART_ANNOTATION = "secrets.pipeline.io/restartedFor"
WORKLOAD_KINDS = {
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "DaemonSet": "daemonsets",
}
SECRETS = "/api/v1/namespaces/{namespace}/secrets"
SECRET = SECRETS + "/{name}"
SYNCS = f"/apis/{GROUP}/{VERSION}/namespaces/{{namespace}}/{PLURAL}"
SYNC = SYNCS + "/{name}"
ALL = {"secrets": "/api/v1/secrets", "syncs": f"/apis/{GROUP}/{VERSION}/{PLURAL}"}
IN_NAMESPACE = {"secrets": SECRETS, "syncs": SYNCS}
# (connect, read) seconds for every call but watches.
TIMEOUT = (5, 30)
MERGE_PATCH = "application/merge-patch+json"


class ClusterError(Exception):
    """A call refused or failed; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class Conflict(ClusterError):
    """409: the object exists (create) or changed since it was read (replace)."""


@dataclass(frozen=True)
class Actual:
    """A Secret as the cluster holds it: ``data`` base64-encoded, as the API gives it."""

    namespace: str
    name: str
    type: str
    data: dict[str, str] = field(repr=False)
    labels: dict[str, str]
    annotations: dict[str, str]
    resource_version: str

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

    def owned_by(self, body: SecretBody) -> bool:
        """Whether it carries the labels that make it ours: managed by the product, for the
        organization and the cluster ``body`` is written for."""
        return self.labels.get(MANAGED_BY[0]) == MANAGED_BY[1] and all(
            self.labels.get(label) and self.labels.get(label) == body.labels.get(label)
            for label in (ORG_LABEL, CLUSTER_LABEL)
        )


def actual(obj: dict[str, Any]) -> Actual:
    """An ``Actual`` from a Secret's JSON."""
    meta = obj.get("metadata") or {}
    return Actual(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        type=str(obj.get("type") or "Opaque"),
        data=dict(obj.get("data") or {}),
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        resource_version=str(meta.get("resourceVersion") or ""),
    )


def api_client(kubeconfig: str | None, *, pool_size: int = 16) -> client.ApiClient:
    """A client from the kubeconfig file, or from the pod's service account when None."""
    configuration = client.Configuration()
    if kubeconfig:
        config.load_kube_config(
            config_file=kubeconfig, client_configuration=configuration, persist_config=False
        )
    else:
        config.load_incluster_config(client_configuration=configuration)
    configuration.connection_pool_maxsize = pool_size
    return client.ApiClient(configuration)


def _message(exc: ApiException) -> str:
    """The API's own message (it names fields, never values), else its reason."""
    try:
        return str(json.loads(exc.body or "{}").get("message") or exc.reason)
    except (ValueError, AttributeError):
        return str(exc.reason)


@contextmanager
def calling(what: str) -> Iterator[None]:
    """Turn the client's errors into ClusterError naming ``what``."""
    try:
        yield
    except ApiException as exc:
        kind = Conflict if exc.status == 409 else ClusterError
        raise kind(f"{what}: {_message(exc)}", exc.status or 0) from None
    except (OSError, HTTPError) as exc:  # no answer, or the connection broke
        raise ClusterError(f"{what}: {type(exc).__name__}") from None


def _json(response: Any) -> Any:
    try:
        return json.loads(response.data or b"null")
    finally:
        response.release_conn()


class Cluster:
    """The agent's verbs on its cluster. ``namespaces`` limits what it lists and watches
    (None: every namespace)."""

    def __init__(self, api: client.ApiClient, namespaces: list[str] | None = None) -> None:
        self.api = api
        self.namespaces = namespaces
        self.streams: set[Any] = set()
        self.closed = False
        # The resourceVersion of the last list of ("secrets" | "syncs", namespace): where a
        # watch started after it picks up, missing nothing since.
        self.listed: dict[tuple[str, str | None], str] = {}

    def call(
        self,
        what: str,
        method: str,
        path: str,
        where: dict[str, str],
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: Any = TIMEOUT,
    ) -> Any:
        """One call of the API at ``path`` (its ``{namespace}`` and ``{name}`` from
        ``where``), made by the client's ApiClient: its answer, not read yet. The typed
        API classes are not used: they validate every call and take long to import (the
        core group most), and the agent knows the few paths it needs. ``what`` names the
        call in the ClusterError that a refusal or failure raises."""
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        request = self.api.param_serialize(
            method=method,
            resource_path=path,
            path_params=where,
            query_params=list((query or {}).items()),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        with calling(what):
            response = self.api.call_api(*request, _request_timeout=timeout)
            if not 200 <= response.status <= 299:
                response.read()
                raise ApiException.from_response(http_resp=response, body=None, data=None)
        return response.response

    def get(self, what: str, path: str, namespace: str, name: str) -> Any:
        """The object at ``path`` (decoded JSON), or None when there is none."""
        try:
            return _json(self.call(what, "GET", path, {"namespace": namespace, "name": name}))
        except ClusterError as exc:
            if exc.status == 404:
                return None
            raise

    def scopes(self) -> list[str | None]:
        """What the agent lists and watches: its namespaces, or None for all of them."""
        return list(self.namespaces) if self.namespaces else [None]

    # -- Secrets ---------------------------------------------------------------------------

    def list_managed(self, cluster_id: str | None) -> dict[Key, Actual]:
        """The managed Secrets of this cluster (``cluster_id``; any cluster's when None), in
        one list call per namespace (one in all when unrestricted)."""
        found: dict[Key, Actual] = {}
        for namespace in self.scopes():
            answer = self.list_secrets(namespace)
            self.listed[("secrets", namespace)] = str(answer["metadata"]["resourceVersion"])
            for obj in answer["items"]:
                item = actual(obj)
                if cluster_id is None or item.labels.get(CLUSTER_LABEL) == cluster_id:
                    found[item.key] = item
        return found

    def list_secrets(self, namespace: str | None) -> Any:
        """The managed Secrets' list answer (JSON) of one namespace, or of all when None."""
        return _json(self.open_list("secrets", namespace))

    def read(self, namespace: str, name: str) -> Actual | None:
        found = self.get(f"Reading Secret {namespace}/{name}", SECRET, namespace, name)
        return actual(found) if found is not None else None

    def create(self, body: SecretBody) -> str:
        """Create the Secret; its resourceVersion. Conflict if one of that name exists."""
        response = self.call(
            f"Creating Secret {body.namespace}/{body.name}",
            "POST",
            SECRETS,
            {"namespace": body.namespace},
            body=body.manifest(),
        )
        return str(_json(response)["metadata"]["resourceVersion"])

    def replace(self, body: SecretBody, resource_version: str) -> str:
        """Replace the Secret read at ``resource_version`` (Conflict if it changed since)."""
        response = self.call(
            f"Updating Secret {body.namespace}/{body.name}",
            "PUT",
            SECRET,
            {"namespace": body.namespace, "name": body.name},
            body=body.manifest(resource_version),
        )
        return str(_json(response)["metadata"]["resourceVersion"])

    def delete(self, namespace: str, name: str, resource_version: str | None = None) -> bool:
        """Delete the Secret (only at ``resource_version`` when given); False if gone."""
        body = (
            {"preconditions": {"resourceVersion": resource_version}} if resource_version else None
        )
        what = f"Deleting Secret {namespace}/{name}"
        try:
            _json(
                self.call(what, "DELETE", SECRET, {"namespace": namespace, "name": name}, body=body)
            )
        except ClusterError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def restart(self, namespace: str, kind: str, name: str, restart_for: str) -> None:
        """Mark the workload's pod template with the change it restarts for (what push
        installs do), so Kubernetes rolls its pods."""
        if kind not in WORKLOAD_KINDS:
            raise ClusterError(f"Restarting {kind} {namespace}/{name}: unknown kind")
        body = {
            "spec": {"template": {"metadata": {"annotations": {RESTART_ANNOTATION: restart_for}}}}
        }
        path = f"/apis/apps/v1/namespaces/{{namespace}}/{WORKLOAD_KINDS[kind]}/{{name}}"
        where = {"namespace": namespace, "name": name}
        what = f"Restarting {kind} {namespace}/{name}"
        _json(self.call(what, "PATCH", path, where, body=body, content_type=MERGE_PATCH))

    # -- SecretSyncs -----------------------------------------------------------------------

    def list_syncs(self, namespace: str | None) -> Any:
        """The SecretSyncs' list answer (JSON) of one namespace, or of all when None."""
        return _json(self.open_list("syncs", namespace))

    def all_syncs(self) -> list[dict[str, Any]]:
        """Every SecretSync the agent looks after (its namespaces, or all)."""
        items: list[dict[str, Any]] = []
        for namespace in self.scopes():
            try:
                answer = self.list_syncs(namespace)
            except ClusterError as exc:
                if exc.status != 404:
                    raise
                # No SecretSync CRD in this cluster: installations still work.
                log.warning("SecretSyncs cannot be listed (is the CRD applied?): %s", exc)
                continue
            self.listed[("syncs", namespace)] = str(answer["metadata"]["resourceVersion"])
            items.extend(answer["items"])
        return items

    def read_sync(self, namespace: str, name: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.get(
            f"Reading SecretSync {namespace}/{name}", SYNC, namespace, name
        )
        return found

    def write_sync_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Merge ``status`` into the SecretSync's status subresource."""
        what = f"Writing the status of SecretSync {namespace}/{name}"
        where = {"namespace": namespace, "name": name}
        try:
            body = {"status": status}
            _json(
                self.call(
                    what, "PATCH", SYNC + "/status", where, body=body, content_type=MERGE_PATCH
                )
            )
        except ClusterError as exc:
            if exc.status != 404:  # deleted meanwhile: nothing to tell
                raise

    # -- lists and watches -----------------------------------------------------------------

    def open_list(
        self,
        what: str,
        namespace: str | None,
        query: dict[str, Any] | None = None,
        timeout: Any = TIMEOUT,
    ) -> Any:
        """The raw answer (not read yet) of the list or watch (``query`` ``watch``) call of
        the managed Secrets (``what="secrets"``) or the SecretSyncs (``"syncs"``) of one
        namespace, or of all when None; ``query`` is the call's query."""
        query = dict(query or {})
        if what == "secrets":
            query["labelSelector"] = MANAGED_SELECTOR
        label = "Secrets" if what == "secrets" else "SecretSyncs"
        path = ALL[what] if namespace is None else IN_NAMESPACE[what]
        where = {} if namespace is None else {"namespace": namespace}
        listing = f"Listing {label} in {namespace or 'all namespaces'}"
        return self.call(listing, "GET", path, where, query=query, timeout=timeout)

    def latest_version(self, what: str, namespace: str | None) -> str:
        """The resourceVersion a watch of ``what`` starts from (a list of one item)."""
        listed = _json(self.open_list(what, namespace, {"limit": 1}))
        return str(listed["metadata"]["resourceVersion"])

    def events(
        self, what: str, namespace: str | None, resource_version: str, timeout: int
    ) -> Iterator[dict[str, Any]]:
        """The watch events (decoded JSON: ``type``, ``object``) of ``what`` after
        ``resource_version``, for up to ``timeout`` seconds. ``self.streams`` holds the open
        answer so ``close_streams`` can end the wait from another thread."""
        query = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": timeout,
        }
        response = self.open_list(what, namespace, query, (TIMEOUT[0], timeout + 30))
        self.streams.add(response)
        try:
            with calling(f"Watching {what}"):
                if self.closed:  # closed while this one was opening
                    return
                for line in iter_resp_lines(response):
                    if line:
                        yield json.loads(line)
        finally:
            self.streams.discard(response)
            response.close()
            response.release_conn()

    def close_streams(self) -> None:
        """End every open watch at once (on the agent's stop): its socket is shut down,
        which wakes the thread blocked reading it (closing the answer would wait for
        that read to end)."""
        self.closed = True
        for response in list(self.streams):
            sock = getattr(getattr(response, "connection", None), "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
