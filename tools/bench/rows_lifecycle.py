"""Benchmark rows for the secret lifecycle: the periodic command when nothing is due, and
renewing certificates. In-process, against the bench's OpenBao and database."""

from __future__ import annotations

import io
import time
from datetime import timedelta

from tools.bench.harness import Bench, setup_django
from tools.bench.registry import bench_row
from tools.bench.report import Row, median_ms

IDLE_SECRETS = 1000
RENEWED = 100


def _seed(org_name: str, count: int, make: object) -> tuple[object, object]:
    from orgs.models import User
    from orgs.services import organization_create

    user = User.objects.get(username="bench")
    org = organization_create(actor=user, name=org_name, operator=True)
    for i in range(count):
        make(user, org, i)  # type: ignore[operator]
    return user, org


def row_periodic_idle() -> Row:
    """``manage.py periodic`` over 1,000 secrets (half with a rotation schedule, half TLS
    chains with a renewal time), none of them due: time and the number of queries."""
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from secrets_app.services import secret_create
    from secrets_app.types import Context

    def make(user: object, org: object, i: int) -> None:
        if i % 2:
            kind, values, extra = "password", {"username": "u"}, {"rotation": {"every": "30d"}}
        else:
            kind, values, extra = "tls", {"hosts": "localhost", "keyType": "ecdsa-p256"}, {}
        secret_create(
            actor=user,  # type: ignore[arg-type]
            organization=org,  # type: ignore[arg-type]
            name=f"idle-{i:04d}",
            type=kind,
            values=values,
            ctx=Context(verify_remote=False),
            **extra,
        )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            call_command("periodic", stdout=io.StringIO())
        return len(captured.captured_queries)

    queries()  # the first run in a process does one-time work (caches, connections)
    before = queries()
    _seed("bench-periodic", IDLE_SECRETS, make)
    after = queries()
    ours = median_ms(lambda _: call_command("periodic", stdout=io.StringIO()), 20)
    return Row(
        "Periodic command, 1,000 secrets (500 scheduled, 500 TLS), nothing due",
        ours,
        None,
        "< 1 s, constant queries",
        ours < 1000 and before == after,
        note=f"{after} queries (with no secrets: {before})",
    )


def row_renew_certificates() -> Row:
    """The renewal job renewing 100 TLS chains (ECDSA P-256) that entered their window:
    new CA and leaves, a Vault write, the index and an audit event each."""
    from django.utils import timezone

    from secrets_app import lifecycle
    from secrets_app.services import secret_create
    from secrets_app.types import Context

    def make(user: object, org: object, i: int) -> None:
        secret_create(
            actor=user,  # type: ignore[arg-type]
            organization=org,  # type: ignore[arg-type]
            name=f"renew-{i:03d}",
            type="tls",
            values={"hosts": "localhost", "validity": "3h", "keyType": "ecdsa-p256"},
            ctx=Context(verify_remote=False),
        )

    _seed("bench-renewal", RENEWED, make)
    started = time.perf_counter()
    counts = lifecycle.run_renewals(timezone.now() + timedelta(hours=2, minutes=30))
    ours = (time.perf_counter() - started) * 1000
    return Row(
        "Renew 100 TLS chains (ECDSA P-256) in one periodic round",
        ours,
        None,
        "< 10 s",
        counts["renewed"] == RENEWED and ours < 10_000,
        note=f"{counts['renewed']} renewed, {ours / RENEWED:.1f} ms each",
    )


@bench_row("lifecycle")
def rows(bench: Bench) -> list[Row]:
    """The periodic command with nothing due, and renewing certificates (in-process)."""
    setup_django()
    return [row_periodic_idle(), row_renew_certificates()]
