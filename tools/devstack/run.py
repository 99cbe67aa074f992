"""``make run``: the product on 127.0.0.1:$PORT with zero configuration.

Environment (all optional):

* DATA_DIR (default ``var`` in the repository): all local state. Passed on to the app as an
  absolute path; without DATABASE_URL the app keeps its SQLite database there.
* PORT (default 9090): the web port. GUNICORN_WORKERS (default 2): gunicorn worker count.
  GUNICORN_CONTROL_SOCKET (default DATA_DIR/gunicorn.ctl): gunicorn's control socket, one
  per instance (empty: none).
* VAULT_ADDR: an external Vault/OpenBao; then no OpenBao is started and its token
  (VAULT_TOKEN or VAULT_TOKEN_FILE) is the app's business. Without it an OpenBao server
  with persistent storage in DATA_DIR/vault runs on VAULT_PORT (default 8200), its KV v2
  mount VAULT_MOUNT (default ``secret``) is prepared, and the app gets VAULT_ADDR and
  VAULT_TOKEN_FILE=DATA_DIR/vault/app-token.

Steps: OpenBao (unless external) → ``manage.py migrate`` → ``manage.py collectstatic`` →
``manage.py setup_code`` (prints the first-run setup code while there is no account) →
gunicorn, beside it the task worker ``manage.py db_worker`` (it sends the notifications the
web process and the periodic jobs queue; started again if it exits), plus ``manage.py
periodic`` (rotation, renewal, re-sync and expiry of installed copies, and whatever else the
apps register) every 60 s when that command exists.
Ctrl-C or SIGTERM stops everything started here and exits 0; if gunicorn dies, OpenBao is
stopped and the exit code is non-zero. A restart reuses DATA_DIR, so secrets survive.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from pipeline_secrets.core.env import private_data_dir
from tools.devstack.base import StackError
from tools.devstack.openbao import DEFAULT_MAX_VERSIONS, OpenBao
from tools.devstack.proc import (
    REPO_ROOT,
    WORKER_ARGS,
    WaitTimeout,
    gunicorn_command,
    manage_command,
    port_is_free,
    terminate,
    wait_for,
    worker_command,
)

SYNC_INTERVAL = 60.0
# The one command that runs every app's periodic jobs (pipeline_secrets/core/periodic.py).
PERIODIC = "periodic"
WORKER_RESTART_DELAY = 5.0
LOOP_INTERVAL = 0.5
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
DEFAULT_VAULT_PORT = 8200


class Interrupted(Exception):
    """Raised in the main thread when SIGINT or SIGTERM arrives."""


class StepFailed(Exception):
    """A start-up step or gunicorn failed; ``code`` is the (non-zero, shell-style) exit code
    to return: 128 + N when signal N killed the process."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = 128 - code if code < 0 else code or 1


def log(message: str) -> None:
    print(f"[run] {message}", flush=True)


def env_int(name: str, default: int) -> int:
    """The integer environment variable ``name``, or ``default`` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"[run] {name} must be an integer, not {raw!r}") from None


@dataclass(frozen=True)
class Config:
    data_dir: Path
    port: int
    vault_port: int
    workers: int
    external_vault: bool

    @classmethod
    def from_env(cls) -> Config:
        return cls(
            data_dir=Path(os.environ.get("DATA_DIR") or REPO_ROOT / "var").resolve(),
            port=env_int("PORT", 9090),
            vault_port=env_int("VAULT_PORT", DEFAULT_VAULT_PORT),
            workers=env_int("GUNICORN_WORKERS", 2),
            external_vault=bool(os.environ.get("VAULT_ADDR")),
        )


def stop(process: subprocess.Popen[bytes] | None, name: str) -> None:
    """Stop ``process`` (its whole process group when it leads one), saying so."""
    if process is not None and process.poll() is None:
        log(f"stopping {name}")
        terminate(process, STOP_TIMEOUT)


class Runner:
    """Starts OpenBao, prepares the database and supervises gunicorn.

    Invariant: every process it starts is recorded on it, so shutdown() stops them all."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.env = {**os.environ, "DATA_DIR": str(config.data_dir)}
        # This instance's own gunicorn control socket (pipeline_secrets/gunicorn_conf.py).
        self.env.setdefault("GUNICORN_CONTROL_SOCKET", str(config.data_dir / "gunicorn.ctl"))
        self.bao: OpenBao | None = None
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.sync: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_started = 0.0

    def run(self) -> int:
        # Everything this starts (OpenBao, migrate, gunicorn) inherits the 077 umask.
        private_data_dir(self.config.data_dir)
        self.start_vault()
        self.step("migrate", "--noinput")
        self.step("collectstatic", "--noinput", "--verbosity=0")
        # A fresh installation: print the one-time code the first-admin page asks for.
        self.step("setup_code")
        can_sync = self.has_command(PERIODIC)
        self.start_gunicorn()
        self.start_worker()
        self.print_banner()
        return self.supervise(can_sync)

    def start_vault(self) -> None:
        if self.config.external_vault:
            log(f"using the external Vault at {self.env['VAULT_ADDR']}")
            return
        self.bao = OpenBao(self.config.data_dir / "vault", self.config.vault_port)
        log(f"starting OpenBao on {self.bao.addr} (log: {self.bao.log_path})")
        self.bao.start_ready(STARTUP_TIMEOUT)
        self.bao.configure_app(
            mount=os.environ.get("VAULT_MOUNT") or "secret",
            max_versions=env_int("VAULT_MAX_VERSIONS", DEFAULT_MAX_VERSIONS),
        )
        self.env["VAULT_ADDR"] = self.bao.addr
        self.env["VAULT_TOKEN_FILE"] = str(self.bao.app_token_path)
        self.env.pop("VAULT_TOKEN", None)
        log("OpenBao is unsealed; the app token is in VAULT_TOKEN_FILE")

    def step(self, *args: str) -> None:
        """Run ``manage.py ARGS``; raise StepFailed when it fails."""
        log(f"manage.py {' '.join(args)}")
        result = subprocess.run(manage_command(*args), cwd=REPO_ROOT, env=self.env, check=False)
        if result.returncode != 0:
            raise StepFailed(f"manage.py {args[0]} failed", result.returncode)

    def has_command(self, name: str) -> bool:
        """Whether ``manage.py NAME`` exists (``manage.py help NAME`` succeeds)."""
        result = subprocess.run(
            manage_command("help", name),
            cwd=REPO_ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        return result.returncode == 0

    def start_gunicorn(self) -> None:
        """Start gunicorn in its own session (we forward the stop signal ourselves) and wait
        until it accepts connections."""
        port = self.config.port
        if not port_is_free(port):
            raise StepFailed(f"127.0.0.1:{port} is already in use; choose another PORT")
        command = gunicorn_command(
            port, workers=self.config.workers, options=("--access-logfile", "-")
        )
        self.gunicorn = subprocess.Popen(
            command, cwd=REPO_ROOT, env=self.env, start_new_session=True
        )
        wait_for(self.gunicorn_accepts, STARTUP_TIMEOUT, f"gunicorn on 127.0.0.1:{port}")

    def start_worker(self) -> None:
        """Start the task worker in its own session (a terminal's Ctrl-C reaches us first)."""
        log(f"starting the task worker: manage.py {' '.join(WORKER_ARGS)}")
        self.worker_started = time.monotonic()
        self.worker = subprocess.Popen(
            worker_command(), cwd=REPO_ROOT, env=self.env, start_new_session=True
        )

    def check_worker(self) -> None:
        """Start the task worker again when it has exited (not more often than every
        WORKER_RESTART_DELAY seconds): queued tasks wait in the database meanwhile."""
        if self.worker is None or self.worker.poll() is None:
            return
        if time.monotonic() - self.worker_started >= WORKER_RESTART_DELAY:
            log(f"the task worker exited with code {self.worker.returncode}; starting it again")
            self.start_worker()

    def gunicorn_accepts(self) -> bool:
        self.check_gunicorn()
        try:
            with socket.create_connection(("127.0.0.1", self.config.port), timeout=1):
                return True
        except OSError:
            return False

    def check_gunicorn(self) -> None:
        assert self.gunicorn is not None
        code = self.gunicorn.poll()
        if code is not None:
            raise StepFailed(f"gunicorn exited with code {code}", code)

    def print_banner(self) -> None:
        url = f"http://127.0.0.1:{self.config.port}"
        prefix = "".join(f"{name}={shlex.quote(value)} " for name, value in self.shell_env())
        lines = [
            f"Pipeline Secrets is running at {url}/",
            f"  Open {url}/ and sign in (while there is no account yet, the page asks for the",
            "  setup code printed above and creates the first admin and organization).",
            "  API tokens are made on the API tokens page, or here, with a user and an org",
            "  created where missing:",
            f"    {prefix}.venv/bin/python manage.py bootstrap --username admin "
            "--org my-org --password 'choose-one'",
            "  Send the printed token as the header  Authorization: Bearer $TOKEN",
            f"  Data: {self.config.data_dir}. Stop with Ctrl-C.",
        ]
        print("\n" + "\n".join(lines) + "\n", flush=True)

    def shell_env(self) -> list[tuple[str, str]]:
        """The variables another shell needs so that manage.py finds this instance's data and
        OpenBao (empty with the defaults, which the settings share)."""
        pairs = []
        if os.environ.get("DATA_DIR"):
            pairs.append(("DATA_DIR", str(self.config.data_dir)))
        if self.bao is not None and self.config.vault_port != DEFAULT_VAULT_PORT:
            pairs.append(("VAULT_ADDR", self.bao.addr))
        return pairs

    def supervise(self, can_sync: bool) -> int:
        """Watch gunicorn (raise StepFailed when it dies) and run the periodic command at once
        and then every SYNC_INTERVAL seconds, never two at a time, each in its own session so that a
        terminal's Ctrl-C does not interrupt it halfway. Returns only by raising."""
        next_sync = time.monotonic()
        while True:
            self.check_gunicorn()
            self.check_worker()
            if self.sync is not None and self.sync.poll() is not None:
                if self.sync.returncode != 0:
                    log(f"{PERIODIC} exited with code {self.sync.returncode}")
                self.sync = None
            if can_sync and self.sync is None and time.monotonic() >= next_sync:
                next_sync = time.monotonic() + SYNC_INTERVAL
                self.sync = subprocess.Popen(
                    manage_command(PERIODIC), cwd=REPO_ROOT, env=self.env, start_new_session=True
                )
            time.sleep(LOOP_INTERVAL)

    def shutdown(self) -> None:
        """Stop everything started here, newest first; safe to call at any point."""
        stop(self.sync, PERIODIC)
        stop(self.worker, "the task worker")
        stop(self.gunicorn, "gunicorn")
        if self.bao is not None and self.bao.process is not None:
            log("stopping OpenBao")
            self.bao.stop()


def interrupt(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def main() -> int:
    config = Config.from_env()
    runner = Runner(config)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupt)
    try:
        return runner.run()
    except Interrupted as stop:
        log(f"{stop}: shutting down")
        return 0
    except StepFailed as failure:
        log(f"error: {failure}")
        return failure.code
    except (StackError, WaitTimeout) as error:
        log(f"error: {error}")
        return 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        runner.shutdown()


if __name__ == "__main__":
    sys.exit(main())
