"""The scale stack's processes besides OpenBao and PostgreSQL: gunicorn replicas of the
app, the task worker beside them and HAProxy in front (``tools.devstack.scale``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

from tools.devstack.base import DEFAULT_TIMEOUT, StackError, local_session
from tools.devstack.proc import (
    REPO_ROOT,
    free_port,
    gunicorn_command,
    port_is_free,
    tail,
    terminate,
    wait_for,
    worker_command,
)


def wait_readyz(
    process: subprocess.Popen[bytes] | None, url: str, log: Path, name: str, timeout: float
) -> None:
    """Wait until ``url``/readyz answers 200; raise StackError (with the end of ``log``)
    when ``process`` exits first or the time is up."""

    def ready() -> bool:
        assert process is not None
        if process.poll() is not None:
            raise StackError(f"{name} exited:\n{tail(log)}")
        try:
            with local_session() as session:
                return session.get(f"{url}/readyz", timeout=2).status_code == 200
        except Exception:
            return False

    wait_for(ready, timeout, f"{name} to serve /readyz", error=StackError)


class Replica:
    """One gunicorn serving the app on its own port."""

    def __init__(self, index: int, env: dict[str, str], log_dir: Path, workers: int = 2) -> None:
        self.index = index
        self.port = free_port()
        self.env = env
        self.log_path = log_dir / f"replica-{index}.log"
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if not port_is_free(self.port):
            self.port = free_port()
        # Eight threads per worker: requests waiting out a leader election must not leave
        # the balancer's health check queued behind them.
        command = gunicorn_command(
            self.port,
            workers=self.workers,
            threads=8,
            options=("--log-level", "warning", "--graceful-timeout", "5"),
        )
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        wait_readyz(self.process, self.url, self.log_path, f"replica {self.index}", timeout)

    def kill(self) -> None:
        """kill -9 of the replica's whole process group (master and workers)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        terminate(self.process)


class TaskWorker:
    """The django-tasks worker (``manage.py db_worker``) beside the replicas, on the same
    database: it runs what requests and periodic jobs queue, as under ``make run``."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_path = log_dir / "worker.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                worker_command(),
                cwd=REPO_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        terminate(self.process)


def find_haproxy() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if not found:
        raise StackError("haproxy is not installed; run `make test-deps` (apt-get install haproxy)")
    return found


class Balancer:
    """HAProxy on 127.0.0.1:port, round-robin over the replicas, health-checking /readyz
    every second; a request that cannot connect to a replica is re-dispatched to another
    one (retries + redispatch), so a replica's death costs no failed connects."""

    def __init__(self, work_dir: Path, port: int | None = None) -> None:
        self.work_dir = work_dir
        self.port = port or free_port()
        self.config_path = work_dir / "haproxy.cfg"
        self.log_path = work_dir / "haproxy.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self, replicas: list[Replica]) -> str:
        servers = "".join(
            f"    server r{r.index} 127.0.0.1:{r.port} check inter 1s fall 3 rise 1"
            " observe layer4 error-limit 1 on-error mark-down\n"
            for r in replicas
        )
        return f"""\
global
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 5s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend app
    bind 127.0.0.1:{self.port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
{servers}"""

    def start(self, replicas: list[Replica]) -> None:
        if not port_is_free(self.port):
            raise StackError(f"127.0.0.1:{self.port} is already in use; choose another port")
        self.config_path.write_text(self.config(replicas), encoding="utf-8")
        check = subprocess.run(
            [find_haproxy(), "-c", "-q", "-f", str(self.config_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode != 0:
            raise StackError(f"haproxy rejected its configuration:\n{check.stdout}{check.stderr}")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [find_haproxy(), "-W", "-db", "-f", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        wait_readyz(self.process, self.url, self.log_path, "haproxy", timeout)

    def stop(self) -> None:
        terminate(self.process)
