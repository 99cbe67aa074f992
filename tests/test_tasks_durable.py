"""Side effects of a write run in the task worker, never in the request, and survive a worker
that dies: against a real kube-apiserver, real OpenBao and a real ``manage.py db_worker``
process on the test database."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from clusters.models import Installation
from tests.listener import Listener
from tests.live_app import database_url
from tests.test_clusters import (
    clusters_url,
    create_secret,
    decoded,
    install,
    new_namespace,
    read_secret,
    register,
    secrets_url,
)
from tests.worker import queued, run_worker

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cluster(vault, personas, clients, kube_control_plane):
    return register(clients["admin"], personas.org.pk, "dev", kube_control_plane.admin_kubeconfig())


def point_cluster_at(clients, org: int, cluster: dict, server: str, cp) -> None:
    """Replace the cluster's kubeconfig secret by one for ``server`` (same credentials)."""
    text = cp.admin_kubeconfig().replace(cp.server, server)
    response = clients["admin"].put(
        f"{secrets_url(org)}/{cluster['secretId']}?validate=false",
        {"values": {"K8Sconfig": text}, "tags": []},
        format="json",
    )
    assert response.status_code == 200, response.content


def put_value(clients, org: int, secret_id: str, value: str) -> dict:
    response = clients["member"].put(
        f"{secrets_url(org)}/{secret_id}", {"values": {"k": value}, "tags": []}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def installed_app(clients, org: int, cluster: dict) -> tuple[dict, str]:
    created = create_secret(clients["member"], org, "app", "generic", {"k": "v1"})
    namespace = new_namespace("durable")
    body = {"namespace": namespace, "query": {"ids": [created["id"]]}}
    assert install(clients["member"], org, cluster["id"], body).status_code == 200
    return created, namespace


def test_an_unreachable_cluster_is_not_contacted_by_the_write_and_fails_in_the_worker(
    cluster, personas, clients, kube_control_plane
):
    org, cp = personas.org.pk, kube_control_plane
    created, namespace = installed_app(clients, org, cluster)
    # A second cluster that never answers holds a copy of the same secret.
    stuck = Listener(held=True)
    try:
        other = register(clients["admin"], org, "far", cp.admin_kubeconfig(), validate=False)
        body = {"namespace": namespace, "query": {"ids": [created["id"]]}}
        assert install(clients["member"], org, other["id"], body).status_code == 200
        point_cluster_at(clients, org, other, f"https://127.0.0.1:{stuck.port}", cp)

        written = put_value(clients, org, created["id"], "v2")
        # The write answered without contacting either cluster: both copies are queued.
        assert stuck.connections == 0
        assert sorted((i["cluster"], i["status"]) for i in written["installations"]) == [
            ("dev", "pending"),
            ("far", "pending"),
        ]
        assert decoded(read_secret(cp, namespace, "app")) == {"k": "v1"}
    finally:
        stuck.close()
    # The worker: the reachable cluster's copy follows; the other fails with the reason,
    # and a retry is queued after a backoff.
    assert run_worker() == 2
    assert decoded(read_secret(cp, namespace, "app")) == {"k": "v2"}
    far = Installation.objects.get(cluster_id=other["id"])
    assert far.status == "failed" and "unreachable" in far.last_error.lower()
    retry = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    assert retry.args_kwargs["kwargs"]["attempt"] == 1 and retry.run_after > timezone.now()
    listed = clients["viewer"].get(f"{clusters_url(org)}/{other['id']}/secrets").json()
    assert [(e["status"], bool(e["lastError"])) for e in listed] == [("failed", True)]


def start_worker(tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "DATABASE_URL": database_url(),
        "DJANGO_SECRET_KEY": "tests-worker-secret-key-" + "x" * 30,
        "DATA_DIR": str(tmp_path / "data"),
        "VAULT_ADDR": settings.VAULT_ADDR,
        "VAULT_TOKEN": str(settings.VAULT_TOKEN),
        "TMPDIR": str(tmp_path),
    }
    log = (tmp_path / "worker.log").open("wb")
    command = [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


class Sink:
    """A cluster gone dark: accepts connections on 127.0.0.1 and never reads or answers,
    so a client waits out its own timeouts (unlike a listener that reads and closes)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.held.append(self.server.accept()[0])

    def close(self) -> None:
        self.server.close()
        for conn in self.held:
            conn.close()


def wait_until(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_worker_killed_mid_task_leaves_the_task_to_the_next_worker(
    cluster, personas, clients, kube_control_plane, tmp_path
):
    org, cp = personas.org.pk, kube_control_plane
    created, namespace = installed_app(clients, org, cluster)
    dark = Sink()
    try:
        point_cluster_at(clients, org, cluster, f"https://127.0.0.1:{dark.port}", cp)
        put_value(clients, org, created["id"], "v2")
        # Committed with the write, before any worker ran.
        assert queued() == 1
        task = DBTaskResult.objects.get()
        worker = start_worker(tmp_path)
        try:
            # The worker took the task and is inside it, waiting on the cluster.
            wait_until(lambda: len(dark.held) > 0, 60, "the worker to reach the cluster")
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
    finally:
        dark.close()
    task.refresh_from_db()
    assert task.status == TaskResultStatus.RUNNING and DBTaskResult.objects.count() == 1
    assert Installation.objects.get().status == "pending"
    point_cluster_at(clients, org, cluster, cp.server, cp)

    # Within its lease the task is taken to be running still; after it, the periodic
    # command hands it to the next worker, which does the work.
    out = io.StringIO()
    call_command("periodic", only=["tasks.recover"], stdout=out)
    assert out.getvalue().strip() == "tasks.recover: requeued 0"
    later = timezone.now() + timedelta(seconds=settings.TASK_LEASE_SECONDS + 1)
    call_command("periodic", only=["tasks.recover"], now=later, stdout=out)
    assert "tasks.recover: requeued 1" in out.getvalue()
    assert run_worker() == 1
    assert decoded(read_secret(cp, namespace, "app")) == {"k": "v2"}
    item = Installation.objects.get()
    assert (item.status, item.version) == ("installed", 2)
