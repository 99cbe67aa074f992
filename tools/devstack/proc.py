"""Process helpers shared by the local services (tools.devstack), the Kubernetes control
plane (tools.devstack.kube), ``make run`` and the benches: loopback ports, waiting for a
condition, private files, log tails, stopping a child, and the command lines of the
product's processes (gunicorn, ``manage.py``, the task worker).

Only the standard library is used, so any tool can import this before Django is set up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# The checkout: the product's processes run with it as their working directory.
REPO_ROOT = Path(__file__).resolve().parents[2]
POLL_INTERVAL = 0.2
STOP_TIMEOUT = 30.0
WSGI_APP = "pipeline_secrets.wsgi:application"


class WaitTimeout(TimeoutError):
    """wait_for() gave up: the condition did not hold in time."""


# --------------------------------------------------------------------------- ports


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that was free when checked (another process may still
    take it before the caller binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on ``host``:``port`` (TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


# --------------------------------------------------------------------------- waiting


def wait_for(
    check: Callable[[], bool],
    timeout: float,
    what: str,
    *,
    interval: float = POLL_INTERVAL,
    error: Callable[[str], Exception] = WaitTimeout,
) -> None:
    """Call ``check`` every ``interval`` seconds until it returns True; after ``timeout``
    seconds raise ``error(message)``, the message naming ``what``. Exceptions raised by
    ``check`` propagate at once."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise error(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------- files


def write_private(path: Path, content: str | bytes) -> Path:
    """Atomically replace ``path`` with ``content`` and return ``path``; the file is mode
    0600 from its creation on, so the content is never readable by other users, not even
    briefly. Missing parent directories are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file, or a note that it cannot be read."""
    try:
        content = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    except OSError as error:
        return f"({path} cannot be read: {error.strerror})"
    return "\n".join(content.splitlines()[-lines:])


# --------------------------------------------------------------------------- processes


def terminate(process: subprocess.Popen[bytes] | None, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM ``process`` (its whole process group when it leads one), wait up to
    ``timeout`` seconds, then SIGKILL. A no-op when it is None or has exited."""
    if process is None or process.poll() is not None:
        return
    try:
        own_group = os.getpgid(process.pid) == process.pid
    except ProcessLookupError:
        own_group = False
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            if own_group:
                os.killpg(process.pid, signum)
            else:
                process.send_signal(signum)
            process.wait(timeout)
            return
        except ProcessLookupError:
            process.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_group(pid: int, signum: int) -> None:
    """Send ``signum`` to the process group ``pid`` leads, if it still exists."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


# The task worker's arguments to manage.py: it runs what requests and periodic jobs queue.
WORKER_ARGS = ("db_worker", "--no-reload", "--interval", "1")


def manage_command(*args: str) -> list[str]:
    """The argv of ``manage.py ARGS`` (run it with REPO_ROOT as working directory)."""
    return [sys.executable, "manage.py", *args]


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py ARGS`` from REPO_ROOT with ``env``, its output captured as text."""
    return subprocess.run(
        manage_command(*args), cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )


def worker_command() -> list[str]:
    """The argv of the django-tasks worker (``manage.py db_worker``)."""
    return manage_command(*WORKER_ARGS)


# Hooks shared by every way the product is served (metrics of exited workers).
GUNICORN_CONFIG = "python:pipeline_secrets.gunicorn_conf"


def gunicorn_command(
    port: int,
    *,
    app: str = WSGI_APP,
    workers: int = 1,
    threads: int = 4,
    options: Sequence[str] = (),
) -> list[str]:
    """The argv serving the WSGI ``app`` with gunicorn on 127.0.0.1:``port`` (run it with the
    repository root as working directory)."""
    return [
        *(sys.executable, "-m", "gunicorn", app),
        *("--config", GUNICORN_CONFIG),
        *("--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads)),
        *options,
    ]
