"""The bench's set-up: one real OpenBao, the app served by gunicorn (one worker, as ``make
run`` serves it) on a fresh SQLite database with an org and an API token, a raw hvac client
on the same OpenBao, and Django in this process for the in-process rows."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import hvac
import requests

from tools.devstack.base import local_session
from tools.devstack.openbao import OpenBao
from tools.devstack.proc import (
    REPO_ROOT,
    free_port,
    gunicorn_command,
    run_manage,
    terminate,
    wait_for,
)

# gunicorn options of the measured servers: one worker (the default), warnings only.
QUIET = ("--log-level", "warning")
# What this process shares with the served app, so in-process rows see the same data.
SHARED_ENV = ("DATA_DIR", "VAULT_ADDR", "VAULT_TOKEN", "LOG_LEVEL")


def setup_django() -> None:
    """Django in this process, on the same database and Vault as the served app."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pipeline_secrets.settings")
    django.setup()


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 now."""
    try:
        return local_session().get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


class Bench:
    """OpenBao and the app, started once for every row of the run.

    ``http`` is a keep-alive session with the bench org's token; ``raw`` an hvac client
    with the app's token, over a session that skips proxy and netrc look-ups as the floor
    and the product do."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.bao = OpenBao(work / "vault")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.app: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}
        self.org_id = 0
        self.token = ""
        self.http = local_session()
        self.raw = hvac.Client()
        # The secret the read rows read: (secretId, its Vault path).
        self.read_target: tuple[str, str] | None = None
        # The read rows' medians (ours, floor, raw), for the create row's HTTP hop.
        self.read_ms: dict[str, float] | None = None

    def start(self) -> None:
        self.bao.start_ready()
        token = self.bao.configure_app()
        self.env = {
            **os.environ,
            "DATA_DIR": str(self.work / "data"),
            "VAULT_ADDR": self.bao.addr,
            "VAULT_TOKEN": token,
            "LOG_LEVEL": "WARNING",
            # Installs on agent clusters answer at once (no agent runs while rows set up).
            "AGENT_INSTALL_WAIT_SECONDS": "0",
            # The database rows' target servers listen on loopback, which the database
            # engine may reach only where the operator allows it.
            "DATABASE_ALLOW_NETWORKS": "127.0.0.1/32",
        }
        self.env.pop("DATABASE_URL", None)
        os.environ.update({k: v for k, v in self.env.items() if k in SHARED_ENV})
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput")
        boot = json.loads(self.manage("bootstrap", "--username", "bench", "--org", "bench"))
        self.org_id, self.token = boot["org_id"], boot["token"]
        self.app = subprocess.Popen(
            gunicorn_command(self.port, options=QUIET), cwd=REPO_ROOT, env=self.env
        )
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        wait_for(lambda: answers(f"{self.base}/healthz"), 60, "gunicorn")
        self.raw = hvac.Client(url=self.bao.addr, token=token, session=local_session())

    def manage(self, *args: str) -> str:
        """``manage.py ARGS`` on the app's database and Vault; returns what it printed."""
        result = run_manage(*args, env=self.env)
        result.check_returncode()
        return result.stdout.strip()

    def stop(self) -> None:
        terminate(self.app)
        self.bao.stop()

    def url(self, path: str) -> str:
        """The API URL of ``path`` in the bench org."""
        return f"{self.base}/api/v1/orgs/{self.org_id}/{path}"

    def read_secret(self) -> tuple[str, str]:
        """The secret the read rows read, created on first use: (secretId, Vault path)."""
        if self.read_target is None:
            created = self.http.post(
                self.url("secrets"),
                json={"name": "bench-read", "type": "password", "values": {"username": "u"}},
            )
            created.raise_for_status()
            secret_id = created.json()["id"]
            self.read_target = (secret_id, f"orgs/{self.org_id}/{secret_id}")
        return self.read_target

    @contextmanager
    def floor_server(self, app: str = "application") -> Iterator[str]:
        """A floor app (tools.bench.floor) served as the product is; yields its URL."""
        port = free_port()
        floor = subprocess.Popen(
            gunicorn_command(port, app=f"tools.bench.floor:{app}", options=QUIET),
            cwd=REPO_ROOT,
            env={**self.env, "PYTHONPATH": str(REPO_ROOT)},
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_for(lambda: answers(url), 60, "the floor app")
            yield url
        finally:
            terminate(floor)
