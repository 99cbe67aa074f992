"""The product scaled out on this machine, from real engines: a 3-node OpenBao cluster with
integrated raft storage (``tools.devstack.raft``), PostgreSQL, N gunicorn replicas with the
task worker beside them and HAProxy in front (``tools.devstack.replicas``).

Replicas share nothing but PostgreSQL and OpenBao: sessions live in the database, so any
replica serves any request, and the one worker (``manage.py db_worker``) runs what any of
them queued. Each replica logs in to OpenBao with AppRole and follows the active raft node
(VAULT_ADDR lists all three). ``make scale-up``/``scale-down`` drive it through
``tools.devstack.scale_cli``; ``make bench-scale`` and the zero-loss test start it too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tools.devstack.base import StackError
from tools.devstack.postgres import Postgres
from tools.devstack.proc import run_manage, write_private
from tools.devstack.raft import OpenBaoCluster
from tools.devstack.replicas import Balancer, Replica, TaskWorker

# Variables of the caller's environment the stack's processes must not inherit.
SCRUBBED_PREFIXES = ("VAULT_", "PG", "PROMETHEUS_")


def log(message: str) -> None:
    print(f"[scale] {message}", flush=True)


class ScaleStack:
    """OpenBao cluster + PostgreSQL + replicas + the task worker + HAProxy under ``work_dir``.

    Invariant: stop() stops everything start() started, newest first, also after a
    partial start."""

    def __init__(
        self,
        work_dir: Path,
        replicas: int = 2,
        port: int | None = None,
        workers: int = 2,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.work_dir = Path(work_dir).resolve()
        self.replica_count = replicas
        self.workers = workers
        self.extra_env = extra_env or {}
        self.vault = OpenBaoCluster(self.work_dir)
        # PostgreSQL refuses to run as root: as root it runs as the postgres user, whose
        # every parent directory must be traversable, so it lives in a fresh temp dir then.
        self.pg_dir = self._postgres_dir()
        self.postgres = Postgres(self.pg_dir)
        self.balancer = Balancer(self.work_dir, port)
        self.replicas: list[Replica] = []
        self.worker: TaskWorker | None = None
        self.env: dict[str, str] = {}

    def _postgres_dir(self) -> Path:
        if os.geteuid() != 0:
            return self.work_dir / "postgres"
        marker = self.work_dir / "postgres-dir"
        if marker.exists():
            return Path(marker.read_text(encoding="utf-8").strip())
        path = Path(tempfile.mkdtemp(prefix="pipeline-secrets-scale-pg-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(path), encoding="utf-8")
        return path

    @property
    def url(self) -> str:
        return self.balancer.url

    def start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.work_dir.chmod(0o700)
        try:
            log(f"starting a 3-node OpenBao raft cluster under {self.work_dir}")
            self.vault.start()
            vault_env = self.vault.configure(self.work_dir)
            log("starting PostgreSQL")
            self.postgres.start()
            self.env = self._app_env(vault_env)
            self.manage("migrate", "--noinput", "--verbosity=0")
            self.manage("collectstatic", "--noinput", "--verbosity=0")
            self._start_replicas()
            log("starting the task worker (manage.py db_worker)")
            self.worker = TaskWorker(self.env, self.work_dir)
            self.worker.start()
            log(f"starting HAProxy in front of {len(self.replicas)} replicas")
            self.balancer.start(self.replicas)
            self.balancer.wait_ready()
        except BaseException:
            self.stop()
            raise

    def _app_env(self, vault_env: dict[str, str]) -> dict[str, str]:
        """The environment every process of the app gets (replicas and the worker)."""
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
        return {
            **inherited,
            **vault_env,
            "DATA_DIR": str(self.work_dir / "app"),
            "DATABASE_URL": self.postgres.url,
            "DJANGO_SECRET_KEY": self._secret_key(),
            "METRICS_ENABLED": "true",
            **self.extra_env,
        }

    def _start_replicas(self) -> None:
        """Start the replicas, each with its own metrics directory, and wait until each
        answers /readyz."""
        metrics_dir = self.work_dir / "metrics"
        self.replicas = []
        for index in range(self.replica_count):
            metrics_replica = metrics_dir / f"r{index}"
            shutil.rmtree(metrics_replica, ignore_errors=True)
            metrics_replica.mkdir(parents=True)
            env = {**self.env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_replica)}
            replica = Replica(index, env, self.work_dir, self.workers)
            self.replicas.append(replica)
            replica.start()
        for replica in self.replicas:
            replica.wait_ready()

    def _secret_key(self) -> str:
        path = self.work_dir / "secret_key"
        if not path.exists():
            write_private(path, os.urandom(32).hex())
        return path.read_text(encoding="utf-8").strip()

    def manage(self, *args: str) -> None:
        result = run_manage(*args, env=self.env)
        if result.returncode != 0:
            raise StackError(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")

    def pids(self) -> dict[str, Any]:
        """What ``scale-down`` needs to stop the stack from another process."""
        worker = self.worker.process if self.worker is not None else None
        return {
            "balancer": self.balancer.process.pid if self.balancer.process else None,
            "replicas": [r.process.pid for r in self.replicas if r.process],
            "worker": worker.pid if worker is not None else None,
            "vault": [n.process.pid for n in self.vault.nodes if n.process],
            "postgres_dir": str(self.pg_dir),
            "url": self.url,
        }

    def stop(self) -> None:
        self.balancer.stop()
        if self.worker is not None:
            self.worker.stop()
        for replica in self.replicas:
            replica.stop()
        with contextlib.suppress(Exception):
            self.postgres.stop()
        self.vault.stop()
