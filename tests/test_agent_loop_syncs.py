"""SecretSync objects against the real kube-apiserver (the CRD applied): served ones fill
their target Secret and get ``Ready=True`` with the applied version; refused ones get
``Ready=False`` with the server's reason; changes of the secret (a ``sync`` event) or of
the spec (the watch) are applied, with restarts; a deleted SecretSync takes its Secret."""

from __future__ import annotations

from typing import Any

from pipeline_secrets_agent.loop import Agent
from pipeline_secrets_agent.reconcile import Reconciler
from tests import test_agent_loop as base
from tests.test_agent_loop import agent_cluster, data_of, installed, read, restart_for, running
from tests.test_agent_loop import sync_path as path
from tests.test_workload_restarts import create_workload, restart_mark
from tools.devstack.pytest_plugin import wait_for

# The fixtures of the agent's tests (a fake server, an admin kubeconfig, a namespace).
fake, kubeconfig, namespace = base.fake, base.kubeconfig, base.namespace


def create_sync(cp, namespace: str, name: str, spec: dict[str, Any]) -> None:
    body = {
        "apiVersion": "secrets.pipeline.io/v1alpha1",
        "kind": "SecretSync",
        "metadata": {"name": name},
        "spec": spec,
    }
    cp.request("POST", path(namespace), body)


def ready(cp, namespace: str, name: str) -> dict[str, Any]:
    """The SecretSync's status: its Ready condition's fields, appliedVersion, lastError."""
    status = cp.request("GET", path(namespace, name)).get("status") or {}
    conditions: list[dict[str, Any]] = status.get("conditions") or []
    condition = next((c for c in conditions if c["type"] == "Ready"), {})
    return {
        "status": condition.get("status"),
        "reason": condition.get("reason"),
        "message": condition.get("message", ""),
        "appliedVersion": status.get("appliedVersion"),
        "lastError": status.get("lastError"),
        "since": condition.get("lastTransitionTime"),
    }


def status_is(cp, namespace: str, name: str, **expected: Any) -> None:
    def check() -> bool:
        found = ready(cp, namespace, name)
        return all(found[k] == v for k, v in expected.items())

    wait_for(check, 20, f"the status {expected} of {namespace}/{name}")


def test_secretsyncs_are_served_refused_followed_and_removed(
    kube_control_plane, kubeconfig, namespace, fake
):
    cp = kube_control_plane
    fake.scope = {"db", "cache"}
    fake.put_secret("db", {"password": "p1"})
    fake.put_secret("cache", {"url": "redis://cache"})
    create_workload(cp, namespace, "Deployment", "api", "app-db-secret")
    spec = {
        "secretName": "db",
        "target": {"name": "app-db-secret"},
        "workloads": [{"kind": "Deployment", "name": "api"}],
    }
    create_sync(cp, namespace, "app-db", spec)
    agent = Agent(fake, agent_cluster(kubeconfig, namespace), wait=1, watch_timeout=5)
    with running(agent, fake):
        # Present at start: the full reconcile lists it and renders it with allSyncs.
        installed(cp, namespace, "app-db-secret", {"password": "p1"})
        status_is(cp, namespace, "app-db", status="True", reason="Applied", appliedVersion="db:1")
        assert fake.renders[0]["all"] is True
        assert fake.renders[0]["syncs"] == [
            {"namespace": namespace, "name": "app-db", "spec": spec}
        ]
        target = read(cp, namespace, "app-db-secret")
        assert target is not None
        assert target["metadata"]["annotations"]["secrets.pipeline.io/secretsync"] == "app-db"
        assert restart_mark(cp, namespace, "Deployment", "api") is None
        for watcher in agent.watchers:
            assert watcher.started_once.wait(20)

        # Added while running, asking for a secret outside the scope: refused, no Secret.
        create_sync(cp, namespace, "refused", {"secretName": "payroll"})
        status_is(cp, namespace, "refused", status="False", reason="OutOfScope")
        assert "payroll is outside" in ready(cp, namespace, "refused")["message"]
        assert (
            ready(cp, namespace, "refused")["lastError"]
            == ready(cp, namespace, "refused")["message"]
        )
        assert read(cp, namespace, "refused") is None

        # The secret changes on the server: a sync event; the data and a restart follow.
        fake.put_secret("db", {"password": "p2"})
        fake.emit(kind="sync", namespace=namespace, name="app-db")
        installed(cp, namespace, "app-db-secret", {"password": "p2"})
        status_is(cp, namespace, "app-db", status="True", appliedVersion="db:2")
        wait_for(
            lambda: restart_mark(cp, namespace, "Deployment", "api") == restart_for("db", "db:2"),
            20,
            "the restart",
        )

        # The spec changes in the cluster: the watch renders it again.
        changed = cp.request("GET", path(namespace, "app-db"))
        changed["spec"]["secretName"] = "cache"
        cp.request("PUT", path(namespace, "app-db"), changed)
        installed(cp, namespace, "app-db-secret", {"url": "redis://cache"})
        status_is(cp, namespace, "app-db", status="True", appliedVersion="cache:1")

        # Deleted: its Secret goes with it.
        cp.request("DELETE", path(namespace, "app-db"))
        wait_for(lambda: read(cp, namespace, "app-db-secret") is None, 20, "the target removed")

    synced = {(s["name"], s["version"], s["ready"]) for s in fake.reported("syncs")}
    assert {("app-db", "db:1", True), ("app-db", "db:2", True), ("refused", "", False)} <= synced
    refused = next(s for s in fake.reported("syncs") if s["name"] == "refused")
    assert "outside this cluster's scope" in refused["error"]
    assert "p1" not in repr(fake.reports) and "redis://" not in repr(fake.reports)


def test_a_secretsync_refused_after_being_served_loses_its_secret(
    kube_control_plane, kubeconfig, namespace, fake
):
    cp = kube_control_plane
    fake.scope = {"db"}
    fake.put_secret("db", {"password": "p1"})
    create_sync(cp, namespace, "app-db", {"secretName": "db"})
    with running(Agent(fake, agent_cluster(kubeconfig, namespace), wait=1), fake):
        installed(cp, namespace, "app-db", {"password": "p1"})
        status_is(cp, namespace, "app-db", status="True")
        served_since = ready(cp, namespace, "app-db")["since"]
        fake.scope = set()  # the admin narrowed the cluster's scope
        fake.emit(kind="reconcile")
        status_is(cp, namespace, "app-db", status="False", reason="OutOfScope")
        wait_for(lambda: read(cp, namespace, "app-db") is None, 20, "the Secret removed")
        # The last version applied stays on record.
        assert ready(cp, namespace, "app-db")["appliedVersion"] == "db:1"
        assert ready(cp, namespace, "app-db")["since"] >= served_since


def test_a_target_held_by_a_secret_not_ours_is_an_error_on_the_secretsync(
    kube_control_plane, kubeconfig, namespace, fake
):
    cp = kube_control_plane
    fake.scope = {"db"}
    fake.put_secret("db", {"password": "p1"})
    base.put_secret(cp, namespace, "app-db", {"k": "theirs"}, {"team": "a"})
    create_sync(cp, namespace, "app-db", {"secretName": "db"})
    Reconciler(fake, agent_cluster(kubeconfig, namespace)).full()
    status_is(cp, namespace, "app-db", status="False", reason="ApplyFailed")
    assert "does not manage" in ready(cp, namespace, "app-db")["lastError"]
    assert data_of(read(cp, namespace, "app-db")) == {"k": "theirs"}
