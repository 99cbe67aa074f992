"""The ``databases`` rows of ``make bench``: dynamic database credentials.

Against a target server started for the row (PostgreSQL, then MariaDB), each iteration
issues one credential and logs in with it for the first time (connect, ``SELECT 1``,
close). Ours: ``POST /orgs/{o}/database-roles/{id}/credentials`` through the served app
(policy, the outbound check, the engine, a lease row and an audit row). The baseline, in
the same run: ``bao read database/creds/o<org>-r<role>``, the same engine role the product
configured, read with raw hvac on the app's token over a keep-alive session, then the same
login. The two alternate (ours, baseline, ours, ...) so a busy moment of the shared machine
slows both alike. Leases live ``TTL`` seconds and are revoked after the timing (ours through
the API, the baseline's in OpenBao), untimed.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from tools.bench.harness import Bench
from tools.bench.registry import bench_row
from tools.bench.report import Row
from tools.bench.rows_sync import p99
from tools.devstack.dbtargets import DatabaseTarget, mariadb_target, postgres_target

ITERATIONS = 100
WARMUP = 3
TTL = 600
# Goals, set before measuring: the product's own work on top of the engine's (one HTTP hop,
# the policy and outbound checks, a lease and an audit row in one transaction) should cost
# at most half of what creating the user and the first login cost, and its slowest issues
# stay within twice the baseline's.
P50_GOAL = 1.5
P99_GOAL = 2.0
ENGINE_NAMES = {"postgresql": "PostgreSQL", "mysql": "MariaDB"}


def first_login(target: DatabaseTarget, username: str, password: str) -> None:
    """Log in with an issued credential, run ``SELECT 1`` and close."""
    connection = target.connect(username, password)
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        if cursor.fetchone()[0] != 1:
            raise RuntimeError("SELECT 1 did not answer 1")
    finally:
        connection.close()


class CredentialBench:
    """A connection and a read-only role of the bench org on ``target``, and the two ways
    of issuing its credentials."""

    def __init__(self, bench: Bench, target: DatabaseTarget) -> None:
        self.bench, self.target = bench, target
        self.role_id = 0
        self.vault_role = ""
        self.ours_leases: list[str] = []
        self.raw_leases: list[str] = []

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        got = self.bench.http.post(self.bench.url(path), json=body)
        if got.status_code != 201:
            raise RuntimeError(f"POST {path}: {got.status_code} {got.text[:500]}")
        return dict(got.json())

    def configure(self) -> None:
        """The connection and its role, through the API as an admin would."""
        target = self.target
        connection = self.post(
            "database-connections",
            {
                "name": f"bench-{target.engine}",
                "engine": target.engine,
                "host": target.host,
                "port": target.port,
                "database": target.database,
                "username": target.username,
                "password": target.password,
                "tlsMode": "disable",
            },
        )
        role: dict[str, Any] = {"name": "bench-read", "preset": "read-only"}
        if target.engine == "postgresql":
            role["schema"] = "public"
        role.update(defaultTtl=TTL, maxTtl=TTL)
        self.role_id = int(self.post(f"database-connections/{connection['id']}/roles", role)["id"])
        self.vault_role = f"o{self.bench.org_id}-r{self.role_id}"

    def ours(self) -> tuple[str, str]:
        issued = self.post(f"database-roles/{self.role_id}/credentials")
        self.ours_leases.append(issued["leaseId"])
        return issued["username"], issued["password"]

    def baseline(self) -> tuple[str, str]:
        read = self.bench.raw.read(f"database/creds/{self.vault_role}")
        self.raw_leases.append(read["lease_id"])
        return read["data"]["username"], read["data"]["password"]

    def revoke_all(self) -> None:
        for lease_id in self.ours_leases:
            self.bench.http.delete(self.bench.url(f"database-leases/{lease_id}")).raise_for_status()
        for lease_id in self.raw_leases:
            self.bench.raw.sys.revoke_lease(lease_id)


Series = dict[str, list[float]]


def timed(issue: Callable[[], tuple[str, str]], target: DatabaseTarget, into: Series) -> None:
    """One issue + first login, its two parts' ms appended to ``into``."""
    start = time.perf_counter()
    username, password = issue()
    issued = time.perf_counter()
    first_login(target, username, password)
    done = time.perf_counter()
    into["issue"].append((issued - start) * 1000)
    into["total"].append((done - start) * 1000)


def measure(bench: Bench, target: DatabaseTarget) -> tuple[Series, Series]:
    """(ours, baseline): each one's issue and issue + login ms, alternating."""
    credentials = CredentialBench(bench, target)
    credentials.configure()
    ours: Series = {"issue": [], "total": []}
    base: Series = {"issue": [], "total": []}
    try:
        for i in range(WARMUP + ITERATIONS):
            if i == WARMUP:
                for series in (ours, base):
                    series["issue"].clear()
                    series["total"].clear()
            timed(credentials.ours, target, ours)
            timed(credentials.baseline, target, base)
    finally:
        credentials.revoke_all()
    return ours, base


def table(engine: str, ours: Series, base: Series) -> list[Row]:
    name = ENGINE_NAMES[engine]
    p50s = statistics.median(ours["total"]), statistics.median(base["total"])
    p99s = p99(ours["total"]), p99(base["total"])
    issue = statistics.median(ours["issue"]), statistics.median(base["issue"])
    return [
        Row(
            f"Issue a {name} credential via the API + first login (p50 of {ITERATIONS}) vs raw "
            "`bao read database/creds/…` + the same login",
            p50s[0],
            p50s[1],
            f"ratio <= {P50_GOAL}",
            p50s[0] / p50s[1] <= P50_GOAL,
            note=f"issue alone {issue[0]:.1f} vs {issue[1]:.1f} ms",
        ),
        Row(
            f"The same, {name}, p99 of {ITERATIONS}",
            p99s[0],
            p99s[1],
            f"ratio <= {P99_GOAL}",
            p99s[0] / p99s[1] <= P99_GOAL,
        ),
    ]


def targets(work: Path) -> Iterator[AbstractContextManager[DatabaseTarget]]:
    yield postgres_target()
    yield mariadb_target(work)


@bench_row("databases")
def rows(bench: Bench) -> list[Row]:
    """Issue + first login against a PostgreSQL and a MariaDB server started for the row."""
    measured: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="bench-db-", dir=bench.work))
    for server in targets(work):
        with server as target:
            ours, base = measure(bench, target)
        measured.extend(table(target.engine, ours, base))
    return measured
