"""A throwaway MariaDB server: the target database of the dynamic database credential tests.

Imports nothing from Django, like the rest of the local stack.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

from tools.devstack.base import DEFAULT_TIMEOUT, StackError, run_step
from tools.devstack.proc import free_port, tail, terminate, wait_for

MARIADB_DATABASE = "app"
MARIADB_ADMIN = "root_admin"

# Server settings for a small, fast, disposable server: durability traded for speed (no
# flush at commit, no doublewrite), small buffers, no performance schema, no host name look-ups.
SERVER_OPTIONS = (
    "--skip-name-resolve",
    "--innodb-buffer-pool-size=16M",
    "--innodb-log-file-size=8M",
    "--innodb-use-native-aio=0",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--performance-schema=off",
    "--character-set-server=utf8mb4",
    "--max-connections=100",
)


def find_mariadbd() -> Path:
    """The server program: ``mariadbd`` on PATH, else Debian's /usr/sbin/mariadbd."""
    found = shutil.which("mariadbd")
    if found:
        return Path(found)
    fallback = Path("/usr/sbin/mariadbd")
    if fallback.exists():
        return fallback
    raise StackError("mariadbd was not found: run `make test-deps` to install mariadb-server")


def client_program(name: str) -> str:
    """The path of a MariaDB client program (``mariadb``, ``mariadb-install-db``)."""
    found = shutil.which(name)
    if found is None:
        raise StackError(f"{name} was not found: run `make test-deps` to install MariaDB")
    return found


def sql_string(value: str) -> str:
    """``value`` as a single-quoted MariaDB string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class MariaDB:
    """A throwaway MariaDB server for one test run, as a child process.

    Invariants:

    * It listens on 127.0.0.1:``port`` only; its socket, pid file and log live in
      ``base_dir/run``, its data in ``base_dir/data``.
    * Once start() returns, database ``app`` exists and ``root_admin``@'%' (all privileges,
      with grant option) logs in over TCP with ``password``. The server's own ``root``
      account connects through the unix socket only, without a password (setup only).
    * As root the server runs as root (``--user=root``), so any ``base_dir`` works.
    * The server runs in its own session, so a terminal's Ctrl-C does not reach it: whoever
      calls start() must call stop().
    """

    host = "127.0.0.1"
    database = MARIADB_DATABASE
    user = MARIADB_ADMIN

    def __init__(self, base_dir: Path, port: int | None = None) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.port = port or free_port()
        self.password = secrets.token_urlsafe(24)
        self.mariadbd = find_mariadbd()
        self.as_root = os.geteuid() == 0
        self.process: subprocess.Popen[bytes] | None = None
        self.data_dir = self.base_dir / "data"
        self.run_dir = self.base_dir / "run"
        self.socket_path = self.run_dir / "mariadb.sock"
        self.log_path = self.run_dir / "mariadb.log"

    def start(self) -> None:
        """Create the data directory, start the server, wait until it answers on its port,
        then create the database and the administrator."""
        if self.process is not None:
            raise StackError(f"MariaDB already runs on {self.data_dir}")
        if self.data_dir.exists():
            raise StackError(f"{self.data_dir} exists: MariaDB starts on a fresh directory only")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._install_db()
        with (self.run_dir / "mariadbd.out").open("wb") as out:
            self.process = subprocess.Popen(
                [str(self.mariadbd), *self._server_options()],
                cwd=self.base_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self._answering, DEFAULT_TIMEOUT, "MariaDB to answer", error=StackError)
        self.run_sql(
            f"CREATE DATABASE `{MARIADB_DATABASE}`;\n"
            f"CREATE USER '{MARIADB_ADMIN}'@'%' IDENTIFIED BY {sql_string(self.password)};\n"
            f"GRANT ALL PRIVILEGES ON *.* TO '{MARIADB_ADMIN}'@'%' WITH GRANT OPTION;\n"
        )

    def stop(self) -> None:
        """Shut the server down (SIGTERM: a clean shutdown) and wait for it to exit. A no-op
        when it does not run."""
        terminate(self.process, timeout=DEFAULT_TIMEOUT)
        self.process = None

    def run_sql(self, statements: str) -> None:
        """Run SQL as the server's ``root`` through the unix socket (statements on stdin, so
        passwords never appear in a command line); raise on failure."""
        self._run(
            [
                client_program("mariadb"),
                "--no-defaults",
                f"--socket={self.socket_path}",
                "--user=root",
                "--batch",
            ],
            statements,
        )

    def _user_options(self) -> tuple[str, ...]:
        return ("--user=root",) if self.as_root else ()

    def _install_db(self) -> None:
        self._run(
            [
                client_program("mariadb-install-db"),
                "--no-defaults",
                f"--datadir={self.data_dir}",
                *self._user_options(),
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *SERVER_OPTIONS,
            ]
        )

    def _server_options(self) -> tuple[str, ...]:
        return (
            "--no-defaults",
            *self._user_options(),
            f"--datadir={self.data_dir}",
            f"--socket={self.socket_path}",
            f"--pid-file={self.run_dir / 'mariadb.pid'}",
            f"--log-error={self.log_path}",
            f"--tmpdir={self.run_dir}",
            f"--bind-address={self.host}",
            f"--port={self.port}",
            *SERVER_OPTIONS,
        )

    def _answering(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise StackError(f"mariadbd exited:\n{tail(self.log_path)}")
        if not self.socket_path.exists():
            return False
        with socket.socket() as sock:
            return sock.connect_ex((self.host, self.port)) == 0

    def _run(self, command: list[str], stdin: str = "") -> None:
        run_step(command, cwd=self.base_dir, log_path=self.log_path, stdin=stdin)
