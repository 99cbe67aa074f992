"""The product scaled out on this machine, from real engines: a 3-node OpenBao cluster with
integrated raft storage, PostgreSQL, N gunicorn replicas and HAProxy in front of them.

Usage (``make scale-up`` / ``make scale-down``):

    python tools/scale.py up [--dir var/scale] [--replicas 2] [--port 9190]
    python tools/scale.py down [--dir var/scale]

``up`` starts everything in the background, prints the URL and returns; ``down`` stops what
``up`` started (pids are kept in DIR/state.json). Replicas share nothing but PostgreSQL and
OpenBao: sessions live in the database, so any replica serves any request. Each replica
logs in to OpenBao with AppRole and follows the active raft node (VAULT_ADDR lists all
three). The OpenBao root token and unseal key stay in DIR/vault-*/init.json (mode 0600).

The same classes serve ``make bench-scale`` (tools/bench_scale.py) and the zero-loss test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.postgres import Postgres  # noqa: E402
from tools.proc import (  # noqa: E402
    free_port,
    gunicorn_command,
    port_is_free,
    tail,
    terminate,
    wait_for,
    write_private,
)
from tools.stack import (  # noqa: E402
    APP_POLICY,
    DEFAULT_TIMEOUT,
    OpenBao,
    StackError,
    local_session,
)

APPROLE = "pipeline-secrets"
# Login tokens live an hour and are replaced by a new login well before that.
APPROLE_TOKEN_TTL = "1h"


def _log(message: str) -> None:
    print(f"[scale] {message}", flush=True)


# --------------------------------------------------------------------------- OpenBao raft


class RaftNode(OpenBao):
    """One node of a raft cluster: its own node id, joining the other nodes on unseal."""

    def __init__(self, data_dir: Path, node_id: str, port: int | None = None) -> None:
        super().__init__(data_dir, port)
        self.node_id = node_id
        self.peers: list[str] = []

    def _config(self) -> str:
        joins = "".join(
            f'  retry_join {{\n    leader_api_addr = "{peer}"\n  }}\n' for peer in self.peers
        )
        base = super()._config()
        return base.replace('node_id = "pipeline-secrets"', f'node_id = "{self.node_id}"').replace(
            "  performance_multiplier = 1\n", f"  performance_multiplier = 1\n{joins}"
        )

    def health_status(self) -> int | None:
        """200 active, 429 standby, 503 sealed, 501 uninitialised, None: not answering."""
        return self._health_status()

    def join_and_unseal(self, credentials: dict[str, str], timeout: float) -> None:
        """Unseal a node of an initialised cluster (it joins through retry_join) and wait
        until it serves as active or standby."""
        self._credentials = dict(credentials)
        if not self.init_path.exists():
            write_private(self.init_path, json.dumps(credentials, indent=2) + "\n")

        def unsealed() -> bool:
            self._check_alive()
            status = self._health_status()
            if status == 503 or status == 501:
                with contextlib.suppress(Exception):
                    client = self.client()
                    if client.sys.is_sealed():
                        client.sys.submit_unseal_key(key=credentials["unseal_key"])
                return False
            return status in (200, 429)

        wait_for(unsealed, timeout, f"OpenBao {self.node_id} to join", error=StackError)


class OpenBaoCluster:
    """Three OpenBao nodes with raft storage on 127.0.0.1, initialised and unsealed, with
    KV v2, the app's policy and an AppRole for the app.

    Invariant: every node process started here is stopped by stop()."""

    def __init__(self, base_dir: Path, size: int = 3) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.nodes = [
            RaftNode(self.base_dir / f"vault-{index}", f"node-{index}") for index in range(size)
        ]
        for node in self.nodes:
            node.peers = [other.addr for other in self.nodes if other is not node]
        self.mount = "secret"

    @property
    def addresses(self) -> str:
        """All API addresses, comma-separated (the app's VAULT_ADDR)."""
        return ",".join(node.addr for node in self.nodes)

    @property
    def credentials(self) -> dict[str, str]:
        first = self.nodes[0]
        return {"root_token": first.root_token, "unseal_key": first.unseal_key}

    def start(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        first = self.nodes[0]
        try:
            first.start()
            first.wait_responding(timeout)
            first.init_or_load()
            first.unseal()
            for node in self.nodes[1:]:
                node.start()
            for node in self.nodes[1:]:
                node.wait_responding(timeout)
                node.join_and_unseal(self.credentials, timeout)
            self.wait_voters(timeout)
        except BaseException:
            self.stop()
            raise

    def active(self) -> RaftNode | None:
        for node in self.nodes:
            if node.process is not None and node.health_status() == 200:
                return node
        return None

    def wait_active(self, timeout: float = DEFAULT_TIMEOUT) -> RaftNode:
        found: list[RaftNode] = []

        def elected() -> bool:
            node = self.active()
            if node is not None:
                found.append(node)
            return node is not None

        wait_for(elected, timeout, "an active OpenBao node", error=StackError)
        return found[-1]

    def root_client(self) -> Any:
        return self.wait_active().root_client()

    def wait_voters(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until every node is a voter: autopilot admits a joined node as a non-voter
        and promotes it once stable, and until then losing the leader loses the quorum."""

        def all_vote() -> bool:
            active = self.active()
            if active is None:
                return False
            with contextlib.suppress(Exception):
                servers = active.root_client().sys.read_raft_config()["data"]["config"]["servers"]
                return len(servers) == len(self.nodes) and all(s["voter"] for s in servers)
            return False

        wait_for(all_vote, timeout, "every OpenBao node to vote", error=StackError)

    def configure(self, approle_dir: Path, timeout: float = DEFAULT_TIMEOUT) -> dict[str, str]:
        """KV v2, the app policy and an AppRole; returns the app's environment (VAULT_*),
        the secret id in a file (mode 0600) under ``approle_dir``."""
        active = self.wait_active(timeout)
        active.configure_app(mount=self.mount, timeout=timeout)
        client = active.root_client()
        if "approle/" not in client.sys.list_auth_methods()["data"]:
            client.sys.enable_auth_method("approle")
        client.auth.approle.create_or_update_approle(
            role_name=APPROLE,
            token_policies=[APP_POLICY],
            token_ttl=APPROLE_TOKEN_TTL,
            token_max_ttl=APPROLE_TOKEN_TTL,
        )
        role_id = client.auth.approle.read_role_id(role_name=APPROLE)["data"]["role_id"]
        secret_id = client.auth.approle.generate_secret_id(role_name=APPROLE)["data"]["secret_id"]
        secret_file = write_private(approle_dir / "approle-secret-id", secret_id)
        return {
            "VAULT_ADDR": self.addresses,
            "VAULT_AUTH_METHOD": "approle",
            "VAULT_ROLE_ID": role_id,
            "VAULT_SECRET_ID_FILE": str(secret_file),
            "VAULT_MOUNT": self.mount,
        }

    def kill(self, node: RaftNode) -> None:
        """kill -9 of one node's process group."""
        node.kill()

    def restart(self, node: RaftNode, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Start a stopped or killed node again and unseal it; it rejoins as a standby."""
        node.start()
        node.wait_responding(timeout)
        node.join_and_unseal(self.credentials, timeout)

    def stop(self) -> None:
        for node in reversed(self.nodes):
            with contextlib.suppress(Exception):
                node.stop()


# --------------------------------------------------------------------------- app & balancer


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
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise StackError(f"replica {self.index} exited:\n{tail(self.log_path)}")
            try:
                with local_session() as session:
                    return session.get(f"{self.url}/readyz", timeout=2).status_code == 200
            except Exception:
                return False

        wait_for(ready, timeout, f"replica {self.index} to be ready", error=StackError)

    def kill(self) -> None:
        """kill -9 of the replica's whole process group (master and workers)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

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
        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise StackError(f"haproxy exited:\n{tail(self.log_path)}")
            try:
                with local_session() as session:
                    return session.get(f"{self.url}/readyz", timeout=2).status_code == 200
            except Exception:
                return False

        wait_for(ready, timeout, "haproxy to serve /readyz", error=StackError)

    def stop(self) -> None:
        terminate(self.process)


# --------------------------------------------------------------------------- the stack


class ScaleStack:
    """OpenBao cluster + PostgreSQL + replicas + HAProxy under ``work_dir``.

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
            _log(f"starting a 3-node OpenBao raft cluster under {self.work_dir}")
            self.vault.start()
            vault_env = self.vault.configure(self.work_dir)
            _log("starting PostgreSQL")
            self.postgres.start()
            metrics_dir = self.work_dir / "metrics"
            self.env = {
                **{
                    k: v
                    for k, v in os.environ.items()
                    if not k.startswith(("VAULT_", "PG", "PROMETHEUS_"))
                },
                **vault_env,
                "DATA_DIR": str(self.work_dir / "app"),
                "DATABASE_URL": self.postgres.url,
                "DJANGO_SECRET_KEY": self._secret_key(),
                "METRICS_ENABLED": "true",
                **self.extra_env,
            }
            self.manage("migrate", "--noinput", "--verbosity=0")
            self.manage("collectstatic", "--noinput", "--verbosity=0")
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
            _log(f"starting HAProxy in front of {len(self.replicas)} replicas")
            self.balancer.start(self.replicas)
            self.balancer.wait_ready()
        except BaseException:
            self.stop()
            raise

    def _secret_key(self) -> str:
        path = self.work_dir / "secret_key"
        if not path.exists():
            write_private(path, os.urandom(32).hex())
        return path.read_text(encoding="utf-8").strip()

    def manage(self, *args: str) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"manage.py {args[0]} failed:\n{result.stdout}{result.stderr}")

    def pids(self) -> dict[str, Any]:
        return {
            "balancer": self.balancer.process.pid if self.balancer.process else None,
            "replicas": [r.process.pid for r in self.replicas if r.process],
            "vault": [n.process.pid for n in self.vault.nodes if n.process],
            "postgres_dir": str(self.pg_dir),
            "url": self.url,
        }

    def stop(self) -> None:
        self.balancer.stop()
        for replica in self.replicas:
            replica.stop()
        with contextlib.suppress(Exception):
            self.postgres.stop()
        self.vault.stop()


# --------------------------------------------------------------------------- CLI


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def down(work_dir: Path) -> int:
    state_path = work_dir / "state.json"
    if not state_path.exists():
        _log(f"nothing runs from {work_dir}")
        return 0
    state = json.loads(state_path.read_text(encoding="utf-8"))
    groups = [state.get("balancer"), *state.get("replicas", []), *state.get("vault", [])]
    pids = [pid for pid in groups if pid]
    for pid in pids:
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids:
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        Postgres(Path(state["postgres_dir"]), port=1).stop()
    if Path(state["postgres_dir"]).parent != work_dir:
        # As root the database lived in a temporary directory of its own: it goes too.
        shutil.rmtree(state["postgres_dir"], ignore_errors=True)
        (work_dir / "postgres-dir").unlink(missing_ok=True)
    for node_dir in work_dir.glob("vault-*"):
        (node_dir / "bao.pid").unlink(missing_ok=True)
    state_path.unlink()
    _log("stopped")
    return 0


def up(work_dir: Path, replicas: int, port: int | None) -> int:
    if (work_dir / "state.json").exists():
        _log(f"already up (see {work_dir / 'state.json'}); run `make scale-down` first")
        return 1
    stack = ScaleStack(work_dir, replicas=replicas, port=port)
    try:
        stack.start()
    except StackError as error:
        _log(f"error: {error}")
        return 1
    write_private(work_dir / "state.json", json.dumps(stack.pids(), indent=2) + "\n")
    print(
        "\n".join(
            [
                "",
                f"Pipeline Secrets at scale is running at {stack.url}/",
                f"  {replicas} replicas behind HAProxy (config {stack.balancer.config_path}),",
                f"  OpenBao raft nodes {stack.vault.addresses} (AppRole login),",
                f"  PostgreSQL {stack.postgres.url}.",
                "  Create an account and a token in another shell with:",
                f"    DATABASE_URL={stack.postgres.url} .venv/bin/python manage.py bootstrap "
                "--username admin --org my-org --password 'choose-one'",
                "  Stop everything with `make scale-down`.",
                "",
            ]
        ),
        flush=True,
    )
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--dir", default=str(ROOT / "var" / "scale"))
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS", "2")))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SCALE_PORT", "9190")))
    args = parser.parse_args(argv)
    work_dir = Path(args.dir).resolve()
    if args.action == "down":
        return down(work_dir)
    return up(work_dir, args.replicas, args.port)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
