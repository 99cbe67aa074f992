"""The product served for real by gunicorn on 127.0.0.1, in its own process, on the test
database: for what only separate processes show (limits shared between workers and pods,
a chart's probes, bodies as a WSGI server hands them over)."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from tools.devstack.pytest_plugin import free_port, gunicorn_command, tail, terminate, wait_for

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0


def database_url() -> str:
    """The URL of the database this test runs on (the test database, not the configured one),
    for a process of its own. Its rows are visible there only in transactional tests."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = quote(str(db.get("USER") or ""), safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or ''}:{db.get('PORT') or 5432}/{db['NAME']}"


@dataclass
class LiveApp:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _answers(port: int, process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"gunicorn exited ({process.returncode}):\n{tail(log, 40)}")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def live_app(
    workdir: Path,
    env: Mapping[str, str] | None = None,
    *,
    workers: int = 1,
    port: int | None = None,
) -> Iterator[LiveApp]:
    """gunicorn serving the product from the repository, with ``env`` over a minimal
    environment (the test database, a secret key, DATA_DIR in ``workdir``)."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"gunicorn-{port}.log"
    full = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "DATABASE_URL": database_url(),
        "DJANGO_SECRET_KEY": "tests-live-app-secret-key-" + "x" * 30,
        "DATA_DIR": str(workdir / "data"),
        "VAULT_ADDR": "http://127.0.0.1:9",
        "VAULT_TOKEN": "unused",
        "TMPDIR": str(workdir),
        **(env or {}),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            gunicorn_command(port, workers=workers, threads=2),
            cwd=ROOT,
            env=full,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: _answers(port, process, log), START_TIMEOUT, f"gunicorn on {port}")
        yield LiveApp(port=port, process=process, log=log)
    finally:
        terminate(process)
