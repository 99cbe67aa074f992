"""What the local servers here share: their error, the default start-up timeout, HTTP
sessions and environments for processes on 127.0.0.1.

Imports nothing from Django, so ``make run``, pytest fixtures and benchmarks can use it
before (or without) Django settings.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import requests

DEFAULT_TIMEOUT = 60.0


class StackError(RuntimeError):
    """A local service could not be found, started, configured or stopped."""


def local_session() -> requests.Session:
    """An HTTP session for servers on 127.0.0.1: it ignores proxy settings (HTTP_PROXY and
    friends) and netrc from the environment, which must not apply to local servers."""
    session = requests.Session()
    session.trust_env = False
    return session


def scrubbed_env(prefixes: tuple[str, ...]) -> dict[str, str]:
    """The current environment without variables starting with any of ``prefixes``."""
    return {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}


def run_step(
    command: list[str],
    *,
    cwd: Path,
    log_path: Path,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> None:
    """Run one set-up step of a local server (``initdb``, ``mariadb-install-db``, a client
    sending SQL): StackError with its output and the end of the server's log on failure."""
    from tools.devstack.proc import tail

    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=DEFAULT_TIMEOUT * 2,
        start_new_session=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(
            f"{Path(command[0]).name} failed with exit code {result.returncode}:\n"
            f"{result.stdout[-3000:]}\nend of {log_path}:\n{tail(log_path)}"
        )
