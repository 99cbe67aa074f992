"""``make scale-up`` / ``make scale-down``: the scale stack (tools.devstack.scale) in the
background.

    python -m tools.devstack.scale_cli up [--dir var/scale] [--replicas 2] [--port 9190]
    python -m tools.devstack.scale_cli down [--dir var/scale]

``up`` starts everything, prints the URL and returns; ``down`` stops what ``up`` started
(pids are kept in DIR/state.json). The OpenBao root token and unseal key stay in
DIR/vault-*/init.json (mode 0600).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from tools.devstack.base import StackError
from tools.devstack.postgres import Postgres
from tools.devstack.proc import REPO_ROOT, pid_alive, signal_group, write_private
from tools.devstack.scale import ScaleStack, log


def down(work_dir: Path) -> int:
    state_path = work_dir / "state.json"
    if not state_path.exists():
        log(f"nothing runs from {work_dir}")
        return 0
    state = json.loads(state_path.read_text(encoding="utf-8"))
    groups = [
        state.get("balancer"),
        state.get("worker"),
        *state.get("replicas", []),
        *state.get("vault", []),
    ]
    pids = [pid for pid in groups if pid]
    for pid in pids:
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while any(pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in pids:
        if pid_alive(pid):
            signal_group(pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        Postgres(Path(state["postgres_dir"]), port=1).stop()
    if Path(state["postgres_dir"]).parent != work_dir:
        # As root the database lived in a temporary directory of its own: it goes too.
        shutil.rmtree(state["postgres_dir"], ignore_errors=True)
        (work_dir / "postgres-dir").unlink(missing_ok=True)
    for node_dir in work_dir.glob("vault-*"):
        (node_dir / "bao.pid").unlink(missing_ok=True)
    state_path.unlink()
    log("stopped")
    return 0


def up(work_dir: Path, replicas: int, port: int | None) -> int:
    if (work_dir / "state.json").exists():
        log(f"already up (see {work_dir / 'state.json'}); run `make scale-down` first")
        return 1
    stack = ScaleStack(work_dir, replicas=replicas, port=port)
    try:
        stack.start()
    except StackError as error:
        log(f"error: {error}")
        return 1
    write_private(work_dir / "state.json", json.dumps(stack.pids(), indent=2) + "\n")
    print(
        "\n".join(
            [
                "",
                f"Pipeline Secrets at scale is running at {stack.url}/",
                f"  {replicas} replicas behind HAProxy (config {stack.balancer.config_path}),",
                f"  the task worker beside them (log {stack.work_dir / 'worker.log'}),",
                f"  OpenBao raft nodes {stack.vault.addresses} (AppRole login),",
                f"  PostgreSQL {stack.postgres.url}.",
                "  Create an account and a token in another shell with:",
                f"    DATABASE_URL={stack.postgres.url} .venv/bin/python manage.py bootstrap "
                "--username admin --org my-org --password 'choose-one'",
                "  Stop everything with `make scale-down`.",
                "",
            ]
        ),
        flush=True,
    )
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--dir", default=str(REPO_ROOT / "var" / "scale"))
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS", "2")))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SCALE_PORT", "9190")))
    args = parser.parse_args(argv)
    work_dir = Path(args.dir).resolve()
    if args.action == "down":
        return down(work_dir)
    return up(work_dir, args.replicas, args.port)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
