"""The zero-loss rule at scale, for real: 8 clients create secrets through HAProxy while
the active OpenBao raft node is killed with SIGKILL; every create the API acknowledged
(201) must read back afterwards with the values sent. Not a speed test: the figures
(failure window, throughput) are printed by ``make bench-scale``, not asserted here."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.devstack.pytest_plugin import (
    Load,
    ScaleStack,
    bootstrap,
    find_haproxy,
    lost_writes,
    under_load,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack() -> Iterator[ScaleStack]:
    find_haproxy()
    work = Path(tempfile.mkdtemp(prefix="pipeline-secrets-scale-test-"))
    scale = ScaleStack(work / "stack", replicas=1, workers=2)
    scale.start()
    try:
        yield scale
    finally:
        scale.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(scale.pg_dir, ignore_errors=True)


def test_no_acknowledged_create_is_lost_when_the_raft_leader_is_killed(
    stack: ScaleStack,
) -> None:
    tenant = bootstrap(stack.url, stack.env)
    leader = stack.vault.wait_active()
    load = Load(tenant, clients=8, kind="create")

    # The load runs on well past a slow election (about 4-5 s on 2 busy cores), so calls
    # that start after the kill get through within the run.
    under_load(load, before=2.0, event=lambda: stack.vault.kill(leader), after=12.0)

    new_leader = stack.vault.wait_active()
    assert new_leader is not leader and leader.process is None
    created_after_kill = [c for c in load.calls if c.ok and c.started > load.calls[0].started + 2.5]
    assert load.acknowledged and created_after_kill, "the load never got through"
    lost = lost_writes(tenant, load.acknowledged)
    print(
        f"\ncreates acknowledged {len(load.acknowledged)}, failed {load.failed} "
        f"{load.statuses()}, failure window {load.failure_window():.2f}s, "
        f"slowest {load.slowest():.2f}s, lost acknowledged writes {len(lost)}; "
        f"failures {load.samples}"
    )
    assert lost == []


def test_the_task_worker_runs_beside_the_replicas(stack: ScaleStack) -> None:
    """``manage.py db_worker`` on the stack's PostgreSQL, still up after the drill (it
    exits at once when it cannot reach its database or the command is missing)."""
    assert stack.worker is not None and stack.worker.running
    assert stack.worker.process is not None
    cmdline = Path(f"/proc/{stack.worker.process.pid}/cmdline").read_bytes().split(b"\0")
    assert b"db_worker" in cmdline
    assert stack.worker.env["DATABASE_URL"] == stack.postgres.url
    assert stack.pids()["worker"] == stack.worker.process.pid
