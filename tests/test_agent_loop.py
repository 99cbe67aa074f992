"""The in-cluster agent against a real kube-apiserver (with the SecretSync CRD applied).

The server side is replaced by ``FakeServer``, an in-memory stand-in for the agent's own
thin client (``pipeline_secrets_agent.server``): it answers ``changes``, ``render`` and
``report`` with the documents of docs/agent-protocol.md (parsed by the agent's own
reader), and records what the agent reported. Kubernetes is real: each test has its own
namespaces and its own cluster id, so the session's other objects are never its own."""

from __future__ import annotations

import base64
import hashlib
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline_secrets_agent import reconcile
from pipeline_secrets_agent.cluster import Cluster, api_client
from pipeline_secrets_agent.desired import Rendered, rendered
from pipeline_secrets_agent.loop import Agent
from pipeline_secrets_agent.reconcile import Reconciler
from pipeline_secrets_agent.server import Changes, ServerError, Unauthorized
from tests.test_clusters import new_namespace
from tools.devstack.pytest_plugin import ControlPlane, KubeAPIError, wait_for

ORG = "3"
MANAGED = "app.kubernetes.io/managed-by"
ORG_LABEL = "secrets.pipeline.io/org-id"
CLUSTER_LABEL = "secrets.pipeline.io/cluster-id"
RESTART = "secrets.pipeline.io/restartedFor"
CRD_FILE = Path(__file__).resolve().parent.parent / "deploy" / "crds" / "secretsync.yaml"
CRD_NAME = "secretsyncs.secrets.pipeline.io"
_clusters = itertools.count(1)
_crd_applied: set[str] = set()

# Used only when deploy/crds/secretsync.yaml is absent: the same group, names and
# subresource, without the schema's detail.
MINIMAL_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": CRD_NAME},
    "spec": {
        "group": "secrets.pipeline.io",
        "scope": "Namespaced",
        "names": {"kind": "SecretSync", "plural": "secretsyncs", "singular": "secretsync"},
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
            }
        ],
    },
}


def restart_for(ref: Any, version: Any) -> str:
    return hashlib.sha256(f"{ref}:{version}".encode()).hexdigest()


class FakeServer:
    """The server as the agent sees it: installations and secrets it renders, change
    events it hands out, reports it keeps."""

    def __init__(self, cluster_id: str) -> None:
        self.cluster_id = cluster_id
        self.cond = threading.Condition()
        self.events: list[dict[str, Any]] = []
        self.installations: dict[int, dict[str, Any]] = {}
        self.values: dict[str, dict[str, str]] = {}
        self.versions: dict[str, int] = {}
        self.scope: set[str] = set()
        self.renders: list[dict[str, Any]] = []
        self.reports: list[dict[str, Any]] = []
        self.closed = False
        self.resetting = False
        self.revoked = False
        # Calls that fail as if the server were down, by method: how many more times.
        self.outages: dict[str, int] = {}
        self.afters: list[int | None] = []

    # -- what a test does on the server side

    def emit(self, **payload: Any) -> None:
        with self.cond:
            self.events.append({"id": len(self.events) + 1, **payload})
            self.cond.notify_all()

    def install(
        self, ref: int, namespace: str, name: str, data: dict[str, str], **extra: Any
    ) -> None:
        before = self.installations.get(ref, {})
        self.installations[ref] = {
            "namespace": namespace,
            "name": name,
            "data": data,
            "type": extra.get("type", before.get("type", "Opaque")),
            "workloads": extra.get("workloads", before.get("workloads", [])),
            "version": before.get("version", 0) + 1,
        }
        self.emit(kind="installation", installation=ref)

    def uninstall(self, ref: int) -> None:
        item = self.installations.pop(ref)
        self.emit(kind="removal", namespace=item["namespace"], name=item["name"])

    def put_secret(self, name: str, data: dict[str, str]) -> None:
        self.values[name] = data
        self.versions[name] = self.versions.get(name, 0) + 1

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def reset_stream(self) -> None:
        """The next ``changes`` answers ``reset: true`` (the cursor is too old)."""
        with self.cond:
            self.resetting = True
            self.cond.notify_all()

    def refuse(self, method: str) -> None:
        if self.revoked:
            raise Unauthorized("The server refused the agent token (401): it was revoked.")
        with self.cond:
            if self.outages.get(method):
                self.outages[method] -= 1
                raise ServerError(f"{method}: ConnectionError")

    # -- the agent's side (the methods of pipeline_secrets_agent.server.Server)

    @property
    def cursor(self) -> int:
        return len(self.events)

    def changes(self, after: int | None, wait: int) -> Changes:
        with self.cond:
            self.afters.append(after)
        self.refuse("changes")
        with self.cond:
            if after is not None:
                self.cond.wait_for(
                    lambda: self.closed or self.resetting or self.cursor > after, timeout=wait
                )
            if self.resetting:
                self.resetting = False
                return Changes(cursor=self.cursor, reset=True)
            new = [e for e in self.events if after is not None and e["id"] > after]
            return Changes(cursor=self.cursor, events=new)

    def render(
        self,
        *,
        installations: list[int] | str,
        syncs: list[dict[str, Any]],
        all_syncs: bool = False,
        page: tuple[int, int] | None = None,
    ) -> Rendered:
        self.refuse("render")
        with self.cond:
            self.renders.append({"installations": installations, "syncs": syncs, "all": all_syncs})
            ids = sorted(self.installations) if isinstance(installations, str) else installations
            more, after = False, 0
            if page is not None and isinstance(installations, str):
                ids = [ref for ref in ids if ref > page[0]]
                more, ids = len(ids) > page[1], ids[: page[1]]
                after = ids[-1] if ids else page[0]
            answer = {
                "more": more,
                "after": after,
                "cursor": self.cursor,
                "installations": [self.render_installation(ref) for ref in ids],
                "syncs": [self.render_sync(item) for item in syncs],
            }
        return rendered(answer)

    def labels(self) -> dict[str, str]:
        return {MANAGED: "pipeline-secrets", ORG_LABEL: ORG, CLUSTER_LABEL: self.cluster_id}

    def render_installation(self, ref: int) -> dict[str, Any]:
        item = self.installations.get(ref)
        if item is None:
            return {"id": ref, "state": "absent"}
        annotations = {
            "secrets.pipeline.io/secret-id": f"id-{ref}",
            "secrets.pipeline.io/version": str(item["version"]),
            "secrets.pipeline.io/installed-at": "2026-12-07T04:00:00+00:00",
        }
        secret = {"type": item["type"], "data": item["data"], "labels": self.labels()}
        return {
            "id": ref,
            "namespace": item["namespace"],
            "name": item["name"],
            "version": item["version"],
            "state": "present",
            "secret": {**secret, "annotations": annotations},
            "workloads": item["workloads"],
            "restartFor": restart_for(ref, item["version"]),
        }

    def render_sync(self, item: dict[str, Any]) -> dict[str, Any]:
        spec, namespace, name = item["spec"], item["namespace"], item["name"]
        wanted = spec.get("secretName", "")
        answer = {"namespace": namespace, "name": name}
        if wanted not in self.scope or wanted not in self.values:
            message = f"The secret {wanted} is outside this cluster's scope."
            return {**answer, "ready": False, "reason": "OutOfScope", "message": message}
        version = f"{wanted}:{self.versions[wanted]}"
        secret = {
            "name": (spec.get("target") or {}).get("name") or name,
            "type": "Opaque",
            "data": self.values[wanted],
            "labels": self.labels(),
            "annotations": {
                "secrets.pipeline.io/secretsync": name,
                "secrets.pipeline.io/version": version,
            },
        }
        return {
            **answer,
            "ready": True,
            "reason": "Applied",
            "message": "",
            "version": version,
            "secretIds": [wanted],
            "secret": secret,
            "workloads": spec.get("workloads") or [],
            "restartFor": restart_for(wanted, version),
        }

    def report(
        self,
        *,
        installations: list[dict[str, Any]] | None = None,
        syncs: list[dict[str, Any]] | None = None,
        drift: list[dict[str, Any]] | None = None,
    ) -> None:
        self.refuse("report")
        with self.cond:
            entry = {"installations": installations or [], "syncs": syncs or []}
            self.reports.append({**entry, "drift": drift or []})
            self.cond.notify_all()

    def reported(self, what: str) -> list[dict[str, Any]]:
        with self.cond:
            return [item for report in self.reports for item in report[what]]


# -- Kubernetes helpers ----------------------------------------------------------------------


def secret_path(namespace: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{namespace}/secrets" + (f"/{name}" if name else "")


def sync_path(namespace: str, name: str = "") -> str:
    base = f"/apis/secrets.pipeline.io/v1alpha1/namespaces/{namespace}/secretsyncs"
    return base + (f"/{name}" if name else "")


def read(cp: ControlPlane, namespace: str, name: str) -> dict[str, Any] | None:
    try:
        return cp.request("GET", secret_path(namespace, name))
    except KubeAPIError as exc:
        if exc.status == 404:
            return None
        raise


def data_of(obj: dict[str, Any] | None) -> dict[str, str] | None:
    if obj is None:
        return None
    return {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}


def put_secret(
    cp: ControlPlane, namespace: str, name: str, data: dict[str, str], labels: dict[str, str]
) -> None:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    body = {"metadata": {"name": name, "labels": labels}, "type": "Opaque", "data": encoded}
    cp.request("POST", secret_path(namespace), body)


def ensure_crd(cp: ControlPlane) -> None:
    """The SecretSync CRD applied (the repository's definition when present), once per
    control plane."""
    if cp.server in _crd_applied:
        return
    definition = yaml.safe_load(CRD_FILE.read_text()) if CRD_FILE.exists() else MINIMAL_CRD
    cp.apply(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD_NAME}", definition)

    def served() -> bool:
        try:
            cp.request("GET", "/apis/secrets.pipeline.io/v1alpha1/secretsyncs")
            return True
        except KubeAPIError:
            return False

    wait_for(served, 30, "the SecretSync CRD to be served", interval=0.2)
    _crd_applied.add(cp.server)


@pytest.fixture
def kubeconfig(kube_control_plane: ControlPlane, tmp_path: Path) -> str:
    """An admin kubeconfig file, the SecretSync CRD applied."""
    ensure_crd(kube_control_plane)
    return str(kube_control_plane.write_admin_kubeconfig(tmp_path / "kubeconfig"))


@pytest.fixture
def namespace(kube_control_plane: ControlPlane) -> str:
    name = new_namespace("agent")
    kube_control_plane.ensure_namespace(name)
    return name


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer(cluster_id=f"{new_namespace('c').replace('-', '')}x{next(_clusters)}")
    yield server
    server.close()


def agent_cluster(kubeconfig: str, *namespaces: str) -> Cluster:
    return Cluster(api_client(kubeconfig), list(namespaces) or None)


@contextmanager
def running(agent: Agent, fake: FakeServer) -> Iterator[Agent]:
    """The agent's loop in a thread, stopped on the way out."""
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(agent.run()), daemon=True)
    thread.start()
    try:
        yield agent
    finally:
        agent.stop()
        fake.close()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the agent did not stop"


def installed(cp: ControlPlane, namespace: str, name: str, data: dict[str, str]) -> None:
    wait_for(lambda: data_of(read(cp, namespace, name)) == data, 20, f"{namespace}/{name}")


# -- the full reconcile ------------------------------------------------------------------------


def test_full_reconcile_writes_what_is_desired_and_removes_only_its_own_leftovers(
    kube_control_plane, kubeconfig, namespace, fake
):
    cp = kube_control_plane
    other = new_namespace("agent")
    cp.ensure_namespace(other)
    fake.install(1, namespace, "app-config", {"user": "app", "password": "s3cret"})
    fake.install(
        2, other, "web-tls", {"tls.crt": "CERT", "tls.key": "KEY"}, type="kubernetes.io/tls"
    )
    fake.install(3, namespace, "taken", {"k": "mine"})
    ours = fake.labels()
    put_secret(cp, namespace, "leftover", {"k": "old"}, ours)
    put_secret(cp, namespace, "taken", {"k": "theirs"}, {"team": "a"})
    put_secret(cp, namespace, "other-cluster", {"k": "x"}, {**ours, CLUSTER_LABEL: "elsewhere"})
    put_secret(cp, namespace, "pushed", {"k": "y"}, {MANAGED: "pipeline-secrets", ORG_LABEL: ORG})

    cursor = Reconciler(fake, agent_cluster(kubeconfig, namespace, other)).full()

    assert cursor == fake.cursor
    assert fake.renders == [{"installations": "all", "syncs": [], "all": True}]
    config = read(cp, namespace, "app-config")
    assert config is not None and config["type"] == "Opaque"
    assert data_of(config) == {"user": "app", "password": "s3cret"}
    assert config["metadata"]["labels"] == ours
    assert config["metadata"]["annotations"]["secrets.pipeline.io/secret-id"] == "id-1"
    assert config["metadata"]["annotations"]["secrets.pipeline.io/version"] == "1"
    tls = read(cp, other, "web-tls")
    assert tls is not None and tls["type"] == "kubernetes.io/tls"
    assert data_of(tls) == {"tls.crt": "CERT", "tls.key": "KEY"}
    # Ours and not desired: deleted. Another cluster's, a push install's: untouched.
    assert read(cp, namespace, "leftover") is None
    assert data_of(read(cp, namespace, "other-cluster")) == {"k": "x"}
    assert data_of(read(cp, namespace, "pushed")) == {"k": "y"}
    # Not ours at all: untouched, and reported failed with a message naming it.
    taken = read(cp, namespace, "taken")
    assert taken is not None and data_of(taken) == {"k": "theirs"}
    assert taken["metadata"]["labels"] == {"team": "a"}
    by_id = {item["id"]: item for item in fake.reported("installations")}
    assert by_id[1]["status"] == by_id[2]["status"] == "installed"
    assert by_id[1]["version"] == 1 and by_id[1]["appliedAt"].endswith("Z")
    assert by_id[3]["status"] == "failed"
    assert f"{namespace}/taken" in by_id[3]["error"] and "does not manage" in by_id[3]["error"]
    # No value reached a report.
    assert "s3cret" not in repr(fake.reports)


def test_a_second_full_reconcile_writes_nothing_when_nothing_changed(
    kube_control_plane, kubeconfig, namespace, fake
):
    fake.install(1, namespace, "steady", {"k": "v"})
    reconciler = Reconciler(fake, agent_cluster(kubeconfig, namespace))
    reconciler.full()
    before = read(kube_control_plane, namespace, "steady")
    assert before is not None
    reconciler.full()
    after = read(kube_control_plane, namespace, "steady")
    assert after is not None
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_a_full_reconcile_renders_page_by_page(
    kube_control_plane, kubeconfig, namespace, fake, monkeypatch
):
    monkeypatch.setattr(reconcile, "FIRST_PAGE", 1)
    monkeypatch.setattr(reconcile, "PAGE", 2)
    for ref in range(1, 6):
        fake.install(ref, namespace, f"paged-{ref}", {"k": str(ref)})
    cursor = Reconciler(fake, agent_cluster(kubeconfig, namespace)).full()
    assert cursor == fake.cursor
    for ref in range(1, 6):
        assert data_of(read(kube_control_plane, namespace, f"paged-{ref}")) == {"k": str(ref)}
    # Three pages (1 + 2 + 2); the SecretSyncs go with the first only.
    assert [bool(r["all"]) for r in fake.renders] == [True, False, False]
    # Each page is reported on its own (the first two while the next one is applied).
    reported = [sorted(i["id"] for i in report["installations"]) for report in fake.reports]
    assert reported == [[1], [2, 3], [4, 5]]


def test_a_type_change_recreates_the_secret(kube_control_plane, kubeconfig, namespace, fake):
    fake.install(1, namespace, "creds", {"username": "u", "password": "p"})
    reconciler = Reconciler(fake, agent_cluster(kubeconfig, namespace))
    reconciler.full()
    fake.install(
        1, namespace, "creds", {"username": "u", "password": "p"}, type="kubernetes.io/basic-auth"
    )
    reconciler.full()
    obj = read(kube_control_plane, namespace, "creds")
    assert obj is not None and obj["type"] == "kubernetes.io/basic-auth"
    assert [i["status"] for i in fake.reported("installations")] == ["installed", "installed"]


def test_a_check_after_a_lost_watch_restores_what_differs(
    kube_control_plane, kubeconfig, namespace, fake
):
    cp = kube_control_plane
    fake.install(1, namespace, "kept", {"k": "v"})
    fake.install(2, namespace, "gone", {"k": "w"})
    reconciler = Reconciler(fake, agent_cluster(kubeconfig, namespace))
    reconciler.full()
    edited = read(cp, namespace, "kept")
    assert edited is not None
    edited["data"] = {"k": base64.b64encode(b"changed").decode()}
    cp.request("PUT", secret_path(namespace, "kept"), edited)
    cp.request("DELETE", secret_path(namespace, "gone"))

    reconciler.check()

    assert data_of(read(cp, namespace, "kept")) == {"k": "v"}
    assert data_of(read(cp, namespace, "gone")) == {"k": "w"}
    drift = {(d["name"], d["change"], d["repaired"]) for d in fake.reported("drift")}
    assert drift == {("kept", "edited", True), ("gone", "deleted", True)}
    # Nothing differs any more: nothing is written or reported.
    reports = len(fake.reports)
    reconciler.check()
    assert len(fake.reports) == reports
