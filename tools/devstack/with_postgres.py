"""Run a command with DATABASE_URL pointing at PostgreSQL.

Usage: python -m tools.devstack.with_postgres -- CMD ARGS...

When DATABASE_URL is already set, the command simply runs with it. Otherwise a throwaway
PostgreSQL server (tools.devstack.postgres.Postgres) starts in a fresh temporary directory
on a free port, the command runs with DATABASE_URL set to it, and the server is stopped and
the directory removed afterwards, also after Ctrl-C, SIGTERM or an error. The exit code is
the command's (128 + N when signal N ended it).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from tools.devstack.base import StackError
from tools.devstack.postgres import Postgres

SignalHandler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None

PREFIX = "with_postgres:"
USAGE = "usage: python -m tools.devstack.with_postgres -- CMD ARGS..."


def parse_command(argv: list[str]) -> list[str]:
    """The command after ``--`` (or all arguments when there is no ``--``)."""
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        raise SystemExit(USAGE)
    return argv


def describe(url: str) -> str:
    """``url`` without user name or password, for printing."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def exit_code(returncode: int) -> int:
    """A subprocess return code as a shell-style exit code."""
    return 128 - returncode if returncode < 0 else returncode


def terminate(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP before or after the command runs: unwind so cleanup happens."""
    raise SystemExit(128 + signum)


def run_child(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` and return its exit code.

    While it runs, SIGTERM and SIGHUP are forwarded to it; SIGINT is ignored here because
    a terminal's Ctrl-C already reaches the command directly (same process group)."""
    try:
        child = subprocess.Popen(command, env=env)
    except OSError as error:
        print(f"{PREFIX} cannot run {command[0]}: {error}", file=sys.stderr)
        return 127

    def forward(signum: int, _frame: FrameType | None) -> None:
        child.send_signal(signum)

    handlers: dict[signal.Signals, SignalHandler] = {
        signal.SIGINT: signal.SIG_IGN,
        signal.SIGTERM: forward,
        signal.SIGHUP: forward,
    }
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        return exit_code(child.wait())
    finally:
        for signum, handler in previous.items():
            if handler is not None:
                signal.signal(signum, handler)


def run_with_throwaway_postgres(command: list[str]) -> int:
    """Start PostgreSQL in a fresh temporary directory, run ``command`` against it, then stop
    the server and delete the directory whatever happens."""
    base_dir = Path(tempfile.mkdtemp(prefix="pipeline-secrets-pg-"))
    postgres: Postgres | None = None
    try:
        postgres = Postgres(base_dir)
        postgres.start()
        print(f"{PREFIX} using a throwaway PostgreSQL at {postgres.url}", flush=True)
        return run_child(command, {**os.environ, "DATABASE_URL": postgres.url})
    finally:
        if postgres is not None:
            stop_quietly(postgres)
        shutil.rmtree(base_dir, ignore_errors=True)


def stop_quietly(postgres: Postgres) -> None:
    """Stop the server; a failure is reported but must not hide the command's exit code."""
    try:
        postgres.stop()
    except (StackError, OSError, subprocess.SubprocessError) as error:
        print(f"{PREFIX} could not stop PostgreSQL: {error}", file=sys.stderr)


def main(argv: list[str]) -> int:
    command = parse_command(argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, terminate)
    url = os.environ.get("DATABASE_URL")
    if url:
        print(f"{PREFIX} using DATABASE_URL from the environment ({describe(url)})", flush=True)
        return run_child(command, dict(os.environ))
    try:
        return run_with_throwaway_postgres(command)
    except StackError as error:
        print(f"{PREFIX} {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
