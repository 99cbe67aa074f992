"""The agent's loop running (a thread, as the command runs it) against the real
kube-apiserver: change events applied as they come, workloads restarted when data
changes, full reconciles on ``reconcile`` and ``reset``, drift repaired and reported,
heartbeats when idle, a revoked token ends the agent."""

from __future__ import annotations

import base64
import time

from pipeline_secrets_agent.loop import Agent
from tests import test_agent_loop as base
from tests.test_agent_loop import (
    agent_cluster,
    data_of,
    installed,
    read,
    restart_for,
    running,
    secret_path,
)
from tests.test_workload_restarts import create_workload, restart_mark
from tools.devstack.pytest_plugin import wait_for

# The fixtures of the agent's tests (a fake server, an admin kubeconfig, a namespace).
fake, kubeconfig, namespace = base.fake, base.kubeconfig, base.namespace


def fast_agent(fake, kubeconfig: str, *namespaces: str, **options) -> Agent:
    options = {"wait": 1, "watch_timeout": 5, "heartbeat_interval": 30.0, **options}
    return Agent(fake, agent_cluster(kubeconfig, *namespaces), **options)


def full_renders(fake) -> int:
    return sum(1 for render in fake.renders if render["installations"] == "all")


def test_change_events_are_applied_as_they_come(kube_control_plane, kubeconfig, namespace, fake):
    cp = kube_control_plane
    create_workload(cp, namespace, "Deployment", "web", "app-config")
    web = [{"kind": "Deployment", "name": "web"}]
    fake.install(1, namespace, "app-config", {"k": "v1"}, workloads=web)
    with running(fast_agent(fake, kubeconfig, namespace), fake):
        installed(cp, namespace, "app-config", {"k": "v1"})
        # A first install restarts nothing: no pod had other data.
        assert restart_mark(cp, namespace, "Deployment", "web") is None
        fake.install(2, namespace, "second", {"a": "1"})
        installed(cp, namespace, "second", {"a": "1"})
        # Only the installation named by the event was rendered.
        assert fake.renders[-1]["installations"] == [2]
        fake.install(1, namespace, "app-config", {"k": "v2"})
        installed(cp, namespace, "app-config", {"k": "v2"})
        wait_for(
            lambda: restart_mark(cp, namespace, "Deployment", "web") == restart_for(1, 2),
            20,
            "the restart annotation",
        )
        fake.uninstall(2)
        wait_for(lambda: read(cp, namespace, "second") is None, 20, "the removal")
        # A new version with the same data: applied (annotations), no restart.
        fake.install(1, namespace, "app-config", {"k": "v2"})
        wait_for(
            lambda: (
                (read(cp, namespace, "app-config") or {})["metadata"]["annotations"][
                    "secrets.pipeline.io/version"
                ]
                == "3"
            ),
            20,
            "version 3",
        )
        assert restart_mark(cp, namespace, "Deployment", "web") == restart_for(1, 2)
    reported = [(i["id"], i["version"], i["status"]) for i in fake.reported("installations")]
    assert (1, 2, "installed") in reported and (2, 1, "installed") in reported
    assert full_renders(fake) == 1


def test_reconcile_and_reset_are_full_reconciles(kube_control_plane, kubeconfig, namespace, fake):
    cp = kube_control_plane
    fake.install(1, namespace, "first", {"k": "1"})
    with running(fast_agent(fake, kubeconfig, namespace), fake):
        installed(cp, namespace, "first", {"k": "1"})
        assert full_renders(fake) == 1
        # Changes the server announces by a reconcile event only (a scope change).
        fake.installations[2] = {**fake.installations[1], "name": "second", "version": 1}
        del fake.installations[1]
        fake.emit(kind="reconcile")
        installed(cp, namespace, "second", {"k": "1"})
        wait_for(lambda: read(cp, namespace, "first") is None, 20, "the undesired Secret gone")
        assert full_renders(fake) == 2
        # The cursor is too old: reset, a full reconcile again.
        fake.installations[3] = {**fake.installations[2], "name": "third"}
        fake.reset_stream()
        installed(cp, namespace, "third", {"k": "1"})
        assert full_renders(fake) == 3


def test_drift_is_repaired_and_reported_and_own_writes_are_not_drift(
    kube_control_plane, kubeconfig, namespace, fake
):
    cp = kube_control_plane
    fake.install(1, namespace, "db", {"password": "p1"})
    agent = fast_agent(fake, kubeconfig, namespace)
    with running(agent, fake):
        installed(cp, namespace, "db", {"password": "p1"})
        for watcher in agent.watchers:
            assert watcher.started_once.wait(20)
        edited = read(cp, namespace, "db")
        assert edited is not None
        edited["data"]["password"] = base64.b64encode(b"by-hand").decode()
        cp.request("PUT", secret_path(namespace, "db"), edited)
        wait_for(lambda: len(fake.reported("drift")) == 1, 20, "the edit reported")
        assert data_of(read(cp, namespace, "db")) == {"password": "p1"}
        cp.request("DELETE", secret_path(namespace, "db"))
        wait_for(lambda: len(fake.reported("drift")) == 2, 20, "the deletion reported")
        installed(cp, namespace, "db", {"password": "p1"})
        # The server's own change is applied, and is no drift.
        fake.install(1, namespace, "db", {"password": "p2"})
        installed(cp, namespace, "db", {"password": "p2"})
        time.sleep(1.5)
    drift = [
        (d["namespace"], d["name"], d["change"], d["repaired"]) for d in fake.reported("drift")
    ]
    assert drift == [(namespace, "db", "edited", True), (namespace, "db", "deleted", True)]
    assert all(d["detectedAt"].endswith("Z") for d in fake.reported("drift"))
    assert "by-hand" not in repr(fake.reports)


def test_outages_are_retried_with_backoff_and_the_cursor_is_kept(
    kube_control_plane, kubeconfig, namespace, fake
):
    cp = kube_control_plane
    fake.install(1, namespace, "first", {"k": "1"})
    # The first render fails: the full reconcile is tried again after a backoff.
    fake.outages["render"] = 1
    agent = fast_agent(fake, kubeconfig, namespace)
    with running(agent, fake):
        installed(cp, namespace, "first", {"k": "1"})
        wait_for(lambda: len(fake.afters) >= 1, 20, "the long-poll")
        cursor = fake.cursor
        assert fake.afters[0] == cursor  # from the render's cursor
        # The change stream breaks twice (backoff 1 s, then 2 s); a change made while it is
        # down lands once it is back, and nothing was reconciled in full for it.
        with fake.cond:
            fake.outages["changes"] = 2
        wait_for(lambda: fake.outages["changes"] == 0, 20, "two failed long-polls")
        fake.install(2, namespace, "second", {"k": "2"})
        installed(cp, namespace, "second", {"k": "2"})
    assert fake.outages == {"render": 0, "changes": 0}
    # The calls during and after the outage asked from the cursor kept in memory.
    assert fake.afters.count(cursor) >= 3 and fake.afters[-1] == cursor + 1
    # One full render answered (the failed one is retried), the rest by event.
    assert full_renders(fake) == 1 and fake.renders[-1]["installations"] == [2]


def test_an_idle_agent_sends_heartbeats(kube_control_plane, kubeconfig, namespace, fake):
    with running(fast_agent(fake, kubeconfig, namespace, heartbeat_interval=0.3), fake):
        wait_for(lambda: sum(1 for r in fake.reports if not any(r.values())) >= 2, 20, "heartbeats")


def test_a_revoked_token_ends_the_agent(kube_control_plane, kubeconfig, namespace, fake):
    fake.revoked = True
    agent = fast_agent(fake, kubeconfig, namespace)
    assert agent.run() == 1
    assert agent.fatal is not None and "401" in agent.fatal
    agent.stop()
