"""Clusters that pull, end to end: the agent as a process (``python -m
pipeline_secrets_agent``) against the live server, real OpenBao and the real kube-apiserver
with the SecretSync CRD applied. The server holds no kubeconfig for the cluster and never
connects to it: every Secret here is written by the agent."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from clusters.models import Cluster, DriftEvent, Installation
from secrets_app.models import SecretIndex
from tests.test_clusters import clusters_url, create_secret, install, new_namespace, secrets_url
from tools.devstack.pytest_plugin import ControlPlane, KubeAPIError

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent
CRD = REPO / "deploy" / "crds" / "secretsync.yaml"
SYNCS = "/apis/secrets.pipeline.io/v1alpha1/namespaces/{ns}/secretsyncs"


def wait_until(check: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = check()
        except KubeAPIError as exc:
            # 404: not there yet; 429: a new resource's storage is still starting.
            if exc.status not in (404, 429):
                raise
            got = None
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def data_of(cp: ControlPlane, namespace: str, name: str) -> dict[str, str] | None:
    try:
        obj = cp.request("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
    except KubeAPIError as exc:
        if exc.status == 404:
            return None
        raise
    return {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}


class AgentProcess:
    """The agent, started as its console module would be, killed with SIGKILL on demand."""

    def __init__(self, server: str, token: str, kubeconfig: Path, log: Path) -> None:
        self.args = [
            sys.executable, "-m", "pipeline_secrets_agent",
            "--server", server, "--kubeconfig", str(kubeconfig),
            "--heartbeat-interval", "2", "--resync-interval", "600",
        ]  # fmt: skip
        self.env = {**os.environ, "PIPELINE_AGENT_TOKEN": token}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.args, env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def crd(kube_control_plane: ControlPlane) -> None:
    definition = yaml.safe_load(CRD.read_text())
    name = definition["metadata"]["name"]
    kube_control_plane.apply(
        f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}", definition
    )
    wait_until(
        lambda: kube_control_plane.request("GET", SYNCS.format(ns="default")) is not None,
        what="the SecretSync CRD served",
    )


@pytest.fixture
def fleet(vault, personas, clients, kube_control_plane, crd, live_server, tmp_path, settings):
    """An agent cluster ``edge`` (scope: namespaces e2e-*, tag env:dev, secret db) with its
    agent running; yields (cluster json, agent process, namespace)."""
    settings.AGENT_INSTALL_WAIT_SECONDS = 15
    admin = clients["admin"]
    scope = {"namespaces": ["e2e-*"], "tags": ["env:dev"], "secrets": ["db"]}
    created = admin.post(
        clusters_url(personas.org.pk),
        {"name": "edge", "mode": "agent", "scope": scope},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    kubeconfig = kube_control_plane.write_admin_kubeconfig(tmp_path / "agent-kubeconfig")
    namespace = new_namespace("e2e")
    kube_control_plane.ensure_namespace(namespace)
    agent = AgentProcess(live_server.url, body["agentToken"], kubeconfig, tmp_path / "agent.log")
    agent.start()
    try:
        yield body, agent, namespace
    finally:
        agent.stop()
        log = (tmp_path / "agent.log").read_text(errors="replace")
        print(log[-4000:])


def put_values(
    admin: Any, org_id: int, secret_id: str, values: dict[str, str], tags: tuple[str, ...] = ()
) -> int:
    response = admin.put(
        f"{secrets_url(org_id)}/{secret_id}?validate=false",
        {"values": values, "tags": list(tags)},
        format="json",
    )
    assert response.status_code == 200, response.content
    return int(response.json()["version"])


def test_the_agent_installs_syncs_repairs_and_converges_after_a_kill(
    personas, clients, kube_control_plane, fleet, live_server
) -> None:
    cp, admin, org = kube_control_plane, clients["admin"], personas.org.pk
    cluster, agent, ns = fleet
    edge = Cluster.objects.get(pk=cluster["id"])
    # The server holds no kubeconfig for the cluster.
    assert edge.mode == "agent" and edge.kubeconfig_secret_id == ""
    assert not SecretIndex.objects.filter(organization_id=org, type="kubernetes").exists()

    db = create_secret(admin, org, "db", "password", {"username": "app", "password": "pw-1"})
    # 1. An install through the API lands, and the call answers once it has.
    answer = install(admin, org, cluster["id"], {"namespace": ns, "query": {"ids": [db["id"]]}})
    assert answer.status_code == 200, answer.content
    assert [item["status"] for item in answer.json()] == ["installed"], answer.json()
    assert data_of(cp, ns, "db") == {"username": "app", "password": "pw-1"}

    # 2. A SecretSync lands, with its Ready condition.
    dev = create_secret(admin, org, "api", "generic", {"token": "t-1"}, tags=["env:dev"])
    cp.request("POST", SYNCS.format(ns=ns), secret_sync(ns, "api-sync", {"secretName": "api"}))
    wait_until(lambda: data_of(cp, ns, "api-sync") == {"token": "t-1"}, what="SecretSync applied")
    wait_until(lambda: condition(cp, ns, "api-sync") == "True", what="SecretSync Ready")

    # 3. Updates propagate, to both.
    put_values(admin, org, db["id"], {"username": "app", "password": "pw-2"})
    put_values(admin, org, dev["id"], {"token": "t-2"}, ("env:dev",))
    wait_until(lambda: (data_of(cp, ns, "db") or {}).get("password") == "pw-2", what="update")
    wait_until(lambda: data_of(cp, ns, "api-sync") == {"token": "t-2"}, what="sync update")

    # 4. kill -9, changes while it is down, a restart: it converges with nothing lost.
    agent.kill()
    put_values(admin, org, db["id"], {"username": "app", "password": "pw-3"})
    later = create_secret(admin, org, "later", "generic", {"k": "v"}, tags=["env:dev"])
    settings_wait = install(
        admin, org, cluster["id"], {"namespace": ns, "query": {"ids": [later["id"]]}}
    )
    assert [i["status"] for i in settings_wait.json()] == ["pending"], settings_wait.json()
    cp.request("DELETE", f"{SYNCS.format(ns=ns)}/api-sync")
    agent.start()
    wait_until(lambda: (data_of(cp, ns, "db") or {}).get("password") == "pw-3", what="catch up")
    wait_until(lambda: data_of(cp, ns, "later") == {"k": "v"}, what="install made while down")
    wait_until(lambda: data_of(cp, ns, "api-sync") is None, what="removed SecretSync's Secret")
    wait_until(
        lambda: (
            not Installation.objects.filter(cluster_id=cluster["id"])
            .exclude(status="installed")
            .exists()
        ),
        what="every installation reported installed",
    )

    # 5. Drift: a managed Secret deleted, then one edited, by hand: both restored, reported.
    cp.request("DELETE", f"/api/v1/namespaces/{ns}/secrets/db")
    wait_until(lambda: (data_of(cp, ns, "db") or {}).get("password") == "pw-3", what="restore")
    tampered = cp.request("GET", f"/api/v1/namespaces/{ns}/secrets/later")
    tampered["data"] = {"k": base64.b64encode(b"evil").decode()}
    cp.request("PUT", f"/api/v1/namespaces/{ns}/secrets/later", tampered)
    wait_until(lambda: data_of(cp, ns, "later") == {"k": "v"}, what="edit reverted")
    wait_until(
        lambda: (
            {e.change for e in DriftEvent.objects.filter(cluster_id=cluster["id"])}
            == {"deleted", "edited"}
        ),
        what="drift reported",
    )

    # 6. A SecretSync outside the cluster's scope is refused with a condition, not applied.
    create_secret(admin, org, "prod-db", "generic", {"k": "prod"}, tags=["env:prod"])
    cp.request("POST", SYNCS.format(ns=ns), secret_sync(ns, "greedy", {"secretName": "prod-db"}))
    wait_until(lambda: condition(cp, ns, "greedy") == "False", what="refusal condition")
    status = cp.request("GET", f"{SYNCS.format(ns=ns)}/greedy")["status"]
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "OutOfScope" and "scope" in ready["message"]
    assert data_of(cp, ns, "greedy") is None

    # 7. The agent's token reads nothing through the API.
    import requests

    token = {"Authorization": f"Bearer {cluster['agentToken']}"}
    for path in (f"/api/v1/orgs/{org}/secrets", f"/api/v1/orgs/{org}/secrets/{db['id']}"):
        assert requests.get(live_server.url + path, headers=token, timeout=10).status_code == 401


def secret_sync(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "secrets.pipeline.io/v1alpha1",
        "kind": "SecretSync",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def condition(cp: ControlPlane, ns: str, name: str) -> str | None:
    obj = cp.request("GET", f"{SYNCS.format(ns=ns)}/{name}")
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == "Ready":
            return str(item.get("status"))
    return None
