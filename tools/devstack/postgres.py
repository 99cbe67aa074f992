"""A throwaway PostgreSQL server for test runs (``python -m tools.devstack.with_postgres``).

Imports nothing from Django, like the rest of the local stack.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

from tools.devstack.base import DEFAULT_TIMEOUT, StackError, run_step, scrubbed_env
from tools.devstack.proc import free_port

POSTGRES_DATABASE = "pipeline_secrets"
POSTGRES_USER = "postgres"
INITDB_OPTIONS = (
    "--auth=trust",
    f"--username={POSTGRES_USER}",
    "--encoding=UTF8",
    "--locale=C",
    "--no-sync",
)


def _version_key(bin_dir: Path) -> tuple[int, ...]:
    """Sort key of ``/usr/lib/postgresql/<version>/bin``: the version as a tuple of ints."""
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name))


def find_postgres_bin() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``: the highest version under
    /usr/lib/postgresql (Debian's layout), else the directory of ``initdb`` on PATH."""
    candidates = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    if candidates:
        return max(candidates, key=_version_key)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise StackError(
        "PostgreSQL server programs (initdb, pg_ctl) were not found under "
        "/usr/lib/postgresql/*/bin or on PATH; run `make test-deps` to install them"
    )


def runuser_postgres(command: list[str]) -> list[str]:
    """``command`` wrapped to run as the postgres system user (the caller must be root)."""
    return ["runuser", "-u", POSTGRES_USER, "--", *command]


def _sql_string(value: str) -> str:
    """``value`` as a single-quoted postgresql.conf string."""
    return "'" + value.replace("'", "''") + "'"


class Postgres:
    """A throwaway PostgreSQL server for one test run; it trades durability for speed
    (fsync, synchronous_commit and full_page_writes are off).

    Invariants:

    * It listens on 127.0.0.1:``port`` only; its unix socket and log live in
      ``base_dir/run``, its data in ``base_dir/data``. User ``postgres`` connects with trust
      authentication; database ``pipeline_secrets`` exists once start() returns.
    * PostgreSQL refuses to run as root: as root, the data and run directories belong to the
      ``postgres`` system user and the server programs run via ``runuser -u postgres``, so
      all parents of ``base_dir`` must be traversable by that user (true for a fresh
      tempfile.mkdtemp() directory used as ``base_dir``; not for pytest's tmp_path).
    * The server runs in its own session, so a terminal's Ctrl-C does not reach it: whoever
      calls start() must call stop().
    """

    def __init__(self, base_dir: Path, port: int | None = None) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.port = port or free_port()
        self.bin_dir = find_postgres_bin()
        self.as_root = os.geteuid() == 0

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def run_dir(self) -> Path:
        return self.base_dir / "run"

    @property
    def log_path(self) -> Path:
        return self.run_dir / "postgres.log"

    @property
    def url(self) -> str:
        """The database URL, ``postgres://postgres@127.0.0.1:PORT/pipeline_secrets``."""
        return f"postgres://{POSTGRES_USER}@127.0.0.1:{self.port}/{POSTGRES_DATABASE}"

    @property
    def running(self) -> bool:
        """True while the server's pid file exists."""
        return (self.data_dir / "postmaster.pid").exists()

    def start(self) -> None:
        """initdb (first time only), start the server and create the database."""
        if self.running:
            raise StackError(f"PostgreSQL already runs on {self.data_dir}")
        fresh = not (self.data_dir / "PG_VERSION").exists()
        self._prepare_dirs()
        if fresh:
            self._run("initdb", f"--pgdata={self.data_dir}", *INITDB_OPTIONS)
        self._write_config()
        self._run("pg_ctl", *self._pg_ctl_options(), f"--log={self.log_path}", "start")
        if fresh:
            self._run("createdb", *self._client_options(), POSTGRES_DATABASE)

    def stop(self) -> None:
        """Stop the server (fast shutdown: sessions are disconnected). A no-op when it does
        not run."""
        if self.running:
            self._run("pg_ctl", *self._pg_ctl_options(), "--mode=fast", "stop")

    def _pg_ctl_options(self) -> tuple[str, ...]:
        return (f"--pgdata={self.data_dir}", "--wait", f"--timeout={int(DEFAULT_TIMEOUT)}")

    def _client_options(self) -> tuple[str, ...]:
        return ("--host=127.0.0.1", f"--port={self.port}", f"--username={POSTGRES_USER}")

    def _prepare_dirs(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.base_dir.chmod(0o755)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        self.data_dir.chmod(0o700)
        self.run_dir.mkdir(exist_ok=True)
        self.run_dir.chmod(0o755)
        if self.as_root:
            owner = self._postgres_user()
            for path in (self.data_dir, self.run_dir):
                os.chown(path, owner.pw_uid, owner.pw_gid)
            self._check_reachable()

    @staticmethod
    def _postgres_user() -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(POSTGRES_USER)
        except KeyError:
            raise StackError(
                "running as root needs the `postgres` system user to run PostgreSQL; "
                "`make test-deps` (apt-get install postgresql) creates it"
            ) from None

    def _check_reachable(self) -> None:
        """Raise unless the postgres user can enter and write the data and run directories."""
        for path in (self.data_dir, self.run_dir):
            test = ["test", "-w", str(path), "-a", "-x", str(path)]
            probe = subprocess.run(runuser_postgres(test), cwd="/", check=False)
            if probe.returncode != 0:
                raise StackError(
                    f"the postgres user cannot reach {path}: use a base directory whose parents "
                    "every user can traverse (e.g. a fresh tempfile.mkdtemp() directory itself)"
                )

    def _write_config(self) -> None:
        """(Re)write our settings into an include file, so a restart may change the port."""
        settings = {
            "listen_addresses": _sql_string("127.0.0.1"),
            "port": str(self.port),
            "unix_socket_directories": _sql_string(str(self.run_dir)),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
        }
        include = self.data_dir / "pipeline_secrets.conf"
        include.write_text(
            "".join(f"{key} = {value}\n" for key, value in settings.items()), encoding="utf-8"
        )
        main = self.data_dir / "postgresql.conf"
        directive = "include_if_exists = 'pipeline_secrets.conf'\n"
        if directive not in main.read_text(encoding="utf-8"):
            with main.open("a", encoding="utf-8") as handle:
                handle.write("\n" + directive)
        if self.as_root:
            owner = self._postgres_user()
            os.chown(include, owner.pw_uid, owner.pw_gid)

    def _run(self, program: str, *args: str) -> None:
        """Run a PostgreSQL program (as the postgres user when we are root) in a new session,
        so the server it may start ignores the terminal's signals; raise on failure."""
        command = [str(self.bin_dir / program), *args]
        if self.as_root:
            command = runuser_postgres(command)
        run_step(command, cwd=self.base_dir, log_path=self.log_path, env=scrubbed_env(("PG",)))
