"""``pipeline-secrets run`` against a live server and real OpenBao: the values reach the
program as environment variables, its exit code is ours, signals reach it, ``--watch``
restarts it after an update, and collisions are refused."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline_secrets_cli.client import secret_id
from tests.cli_helpers import Cli, files_text, make_secret, token_for, update_secret
from tests.conftest import Personas

pytestmark = pytest.mark.django_db(transaction=True)

PRINT_ENV = (
    "import os, sys; print(os.environ.get(sys.argv[1], '<unset>')); sys.exit(int(sys.argv[2]))"
)
# Writes its PID's readiness, then waits; SIGTERM makes it record it and exit 7.
SIGNALLED = """
import pathlib, signal, sys, time, os
out = pathlib.Path(sys.argv[1])
def stop(signum, frame):
    out.with_suffix('.signal').write_text(str(signum))
    sys.exit(7)
signal.signal(signal.SIGTERM, stop)
with out.open('a') as f:
    f.write(os.environ.get('password', '<unset>') + '\\n')
time.sleep(120)
"""


@pytest.fixture
def cli(vault: Any, personas: Personas, live_server: Any, tmp_path: Path) -> Cli:
    make_secret(personas, "db", {"username": "app", "password": "s3cret-db"}, tags=["env:prod"])
    make_secret(personas, "api", {"apiKey": "k-123", "password": "other"}, tags=["env:dev"])
    home = tmp_path / "home"
    home.mkdir()
    return Cli(live_server.url, home, token=token_for(personas.member))


def wait_until(check: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while not (got := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)
    return got


def test_run_passes_values_and_returns_the_exit_code(cli: Cli) -> None:
    done = cli.run("run", "--secret", "db", "--", sys.executable, "-c", PRINT_ENV, "password", "3")
    assert done.returncode == 3, done.stderr
    assert done.stdout.strip() == "s3cret-db"
    upper = cli.run(
        "run", "--tag", "env:dev", "--upper", "--", sys.executable, "-c", PRINT_ENV, "API_KEY", "0"
    )
    assert upper.returncode == 0 and upper.stdout.strip() == "k-123"
    mapped = cli.run(
        "run", "--secret", "db", "--secret", "api", "--map", "api.password=API_PASSWORD",
        "--", sys.executable, "-c", PRINT_ENV, "API_PASSWORD", "0",
    )  # fmt: skip
    assert mapped.returncode == 0 and mapped.stdout.strip() == "other", mapped.stderr
    assert files_text(cli.home) == ""  # nothing written to disk


def test_a_collision_names_both_sources(cli: Cli) -> None:
    done = cli.run("run", "--secret", "db", "--secret", "api", "--", "true")
    assert done.returncode == 2
    assert "password comes from both db.password and api.password" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout


def test_a_signal_reaches_the_program(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "child.txt"
    process = cli.start("run", "--secret", "db", "--", sys.executable, "-c", SIGNALLED, str(out))
    try:
        wait_until(lambda: out.exists() and out.read_text(), what="the program started")
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    finally:
        process.kill()
    assert process.returncode == 7
    assert out.with_suffix(".signal").read_text() == str(int(signal.SIGTERM))


def test_watch_restarts_the_program_after_an_update(
    cli: Cli, personas: Personas, tmp_path: Path
) -> None:
    out = tmp_path / "child.txt"
    process = cli.start(
        "run", "--secret", "db", "--watch", "--interval", "1",
        "--", sys.executable, "-c", SIGNALLED, str(out),
    )  # fmt: skip
    try:
        wait_until(lambda: out.exists() and out.read_text(), what="the program started")
        update_secret(personas, secret_id("db"), {"username": "app", "password": "rotated"})
        wait_until(lambda: "rotated" in out.read_text(), what="the program restarted")
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        _, err = process.communicate()
    finally:
        process.kill()
    assert out.read_text().splitlines() == ["s3cret-db", "rotated"]
    assert process.returncode == 7
    assert "polling every 1 s" in err and "db changed; restarting" in err


def test_a_viewer_token_cannot_read_values(cli: Cli, personas: Personas) -> None:
    viewer = Cli(cli.url, cli.home, token=token_for(personas.admin, max_role="viewer"))
    done = viewer.run("run", "--secret", "db", "--", "true")
    assert done.returncode == 4, done.stderr
    missing = cli.run("run", "--secret", "nope", "--", "true")
    assert missing.returncode == 3
