"""``make bench-scale``: the product scaled out (tools.devstack.scale), measured in one run.

Rows: API reads and creates per second through HAProxy with 2 and with 1 replica, beside
raw OpenBao reads and writes per second (hvac, same concurrency, same raft cluster); then
three drills under load: the active raft node killed (kill -9) while 8 clients create
secrets, an app replica killed while clients read, PostgreSQL restarted while clients
read. Every drill counts failed requests; the leader drill also counts acknowledged creates
that cannot be read back ("lost acknowledged writes"), and the exit code is 1 when that
is not 0. Nothing else is asserted: the figures are printed as measured.

Knobs: BENCH_SECONDS (default 30), BENCH_CLIENTS (default 16).
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import hvac

from tools.devstack.base import local_session
from tools.devstack.chaos import Load, Tenant, bootstrap, lost_writes, under_load
from tools.devstack.scale import ScaleStack

SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
SEEDED = 200


def raw_openbao(stack: ScaleStack, kind: str, seeded: list[str]) -> float:
    """Successful raw KV v2 reads or writes per second against the active node."""
    active = stack.vault.wait_active()
    token = active.root_token
    stop = threading.Event()
    done = [0] * CLIENTS

    def client(index: int) -> None:
        vault = hvac.Client(url=active.addr, token=token, timeout=30, session=local_session())
        kv = vault.secrets.kv.v2
        for number in itertools.count():
            if stop.is_set():
                return
            try:
                if kind == "read":
                    kv.read_secret_version(
                        path=seeded[(index * 31 + number) % len(seeded)],
                        mount_point="secret",
                        raise_on_deleted_version=False,
                    )
                else:
                    kv.create_or_update_secret(
                        path=f"bench/raw/{index}-{number}-{uuid.uuid4().hex[:6]}",
                        secret={"value": uuid.uuid4().hex},
                        cas=0,
                        mount_point="secret",
                    )
                done[index] += 1
            except Exception:  # noqa: S112 - a failed call is simply not counted
                continue

    with ThreadPoolExecutor(CLIENTS) as pool:
        started = time.monotonic()
        for index in range(CLIENTS):
            pool.submit(client, index)
        time.sleep(SECONDS)
        stop.set()
    return sum(done) / (time.monotonic() - started)


def seed(stack: ScaleStack, tenant: Tenant) -> tuple[list[str], list[str]]:
    """SEEDED secrets through the API (their ids) and SEEDED raw documents (their paths)."""
    session = tenant.session()
    ids = []
    for index in range(SEEDED):
        body = {"name": f"seed-{index}", "type": "generic", "values": {"v": uuid.uuid4().hex}}
        response = session.post(tenant.secrets_url, json=body, timeout=30)
        response.raise_for_status()
        ids.append(str(response.json()["id"]))
    kv = stack.vault.root_client().secrets.kv.v2
    paths = []
    for index in range(SEEDED):
        path = f"bench/seed/{index}"
        kv.create_or_update_secret(path=path, secret={"v": uuid.uuid4().hex}, mount_point="secret")
        paths.append(path)
    return ids, paths


def api(tenant: Tenant, kind: str, ids: list[str]) -> Load:
    load = Load(tenant, clients=CLIENTS, kind=kind, read_ids=ids)
    load.run_for(SECONDS)
    return load


def use_replicas(stack: ScaleStack, count: int) -> None:
    """Restart HAProxy in front of the first ``count`` replicas only."""
    stack.balancer.stop()
    stack.balancer.start(stack.replicas[:count])
    stack.balancer.wait_ready()


# The printed table: (measure, value, note).
Table = list[tuple[str, str, str]]


def throughput_rows(stack: ScaleStack, tenant: Tenant, ids: list[str], paths: list[str]) -> Table:
    """Raw OpenBao reads and writes per second, then API reads and creates per second
    through HAProxy with 2 and with 1 replica."""
    raw_reads = raw_openbao(stack, "read", paths)
    raw_writes = raw_openbao(stack, "write", paths)
    rows: Table = [
        ("raw OpenBao reads/s (hvac, active node)", f"{raw_reads:.0f}", "baseline"),
        ("raw OpenBao writes/s (hvac, CAS create)", f"{raw_writes:.0f}", "baseline"),
    ]
    results = {}
    for replicas in (2, 1):
        use_replicas(stack, replicas)
        reads = api(tenant, "read", ids)
        creates = api(tenant, "create", ids)
        results[replicas] = (reads.per_second(), creates.per_second())
        for name, load, raw in (("reads", reads, raw_reads), ("creates", creates, raw_writes)):
            measure = f"API {name}/s via HAProxy, {replicas} replica(s)"
            note = f"{load.per_second() / raw:.2f}x raw; {load.failed} failed"
            rows.append((measure, f"{load.per_second():.0f}", note))
    for index, name in ((0, "reads"), (1, "creates")):
        one, two = results[1][index], results[2][index]
        rows.append((f"API {name}: 2 replicas / 1 replica", f"{two / one:.2f}x", ""))
    use_replicas(stack, 2)
    return rows


def leader_drill(stack: ScaleStack, tenant: Tenant) -> tuple[Table, int]:
    """The active raft node killed (kill -9) under 8-client create load: the rows and the
    number of acknowledged creates lost."""
    leader = stack.vault.wait_active()
    writes = Load(tenant, clients=8, kind="create")
    under_load(writes, 3.0, lambda: stack.vault.kill(leader), 10.0)
    lost = lost_writes(tenant, writes.acknowledged)
    stack.vault.restart(leader)
    window = f"{writes.failure_window():.2f} s"
    failed = f"{writes.failed} failed {writes.statuses()}, slowest {writes.slowest():.2f} s"
    acknowledged = f"of {len(writes.acknowledged)} acknowledged"
    rows = [
        ("leader kill -9, 8 writers: longest failure window", window, failed),
        ("lost acknowledged writes", str(len(lost)), acknowledged),
    ]
    return rows, len(lost)


def replica_drill(stack: ScaleStack, tenant: Tenant, ids: list[str]) -> Table:
    """One app replica killed (kill -9) under read load."""
    reads = Load(tenant, clients=8, kind="read", read_ids=ids)
    under_load(reads, 3.0, stack.replicas[1].kill, 8.0)
    stack.replicas[1].start()
    stack.replicas[1].wait_ready()
    use_replicas(stack, 2)
    note = f"of {len(reads.calls)}; {reads.statuses()}"
    return [("replica kill -9 under 8 readers: failed requests", str(reads.failed), note)]


def postgres_drill(stack: ScaleStack, tenant: Tenant, ids: list[str]) -> Table:
    """PostgreSQL restarted under read load, then a short load to see it recovered."""

    def restart_postgres() -> None:
        stack.postgres.stop()
        stack.postgres.start()

    reads = Load(tenant, clients=8, kind="read", read_ids=ids)
    under_load(reads, 3.0, restart_postgres, 8.0)
    after = Load(tenant, clients=4, kind="read", read_ids=ids)
    after.run_for(2.0)
    note = f"of {len(reads.calls)}; window {reads.failure_window():.2f} s; {reads.statuses()}"
    return [
        ("PostgreSQL restart under 8 readers: failed requests", str(reads.failed), note),
        ("after the PostgreSQL restart: failed", str(after.failed), "recovered"),
    ]


def print_table(rows: Table) -> None:
    width = max(len(row[0]) for row in rows)
    print(f"\n{'measure'.ljust(width)}  {'value':>10}  note")
    for name, value, note in rows:
        print(f"{name.ljust(width)}  {value:>10}  {note}")


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="pipeline-secrets-bench-scale-"))
    stack = ScaleStack(work / "stack", replicas=2, workers=2)
    try:
        stack.start()
        tenant = bootstrap(stack.url, stack.env)
        ids, paths = seed(stack, tenant)
        print(f"[bench-scale] {CLIENTS} clients, {SECONDS:g} s per throughput row", flush=True)
        rows = throughput_rows(stack, tenant, ids, paths)
        leader_rows, lost = leader_drill(stack, tenant)
        rows += leader_rows + replica_drill(stack, tenant, ids) + postgres_drill(stack, tenant, ids)
    finally:
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(stack.pg_dir, ignore_errors=True)
    print_table(rows)
    if lost:
        print(f"\nFAIL: {lost} acknowledged writes were lost", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
