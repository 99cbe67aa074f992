"""The periodic command: certificate renewal inside the window and not before, scheduled
rotation, expiry announcements, constant queries when idle, and concurrent runners that
process each due item once (on the database the suite runs on). The clock is injected."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from pipeline_secrets.core import periodic
from secrets_app import lifecycle, services
from secrets_app import values as secret_values
from secrets_app.models import SecretIndex, SecretLifecycle
from secrets_app.types import REGISTRY, Context
from secrets_app.types.tls import certificates
from tests.worker import run_worker

NOW = datetime.now(UTC).replace(microsecond=0)


def run_periodic(now: datetime) -> dict[str, str]:
    """``manage.py periodic`` at ``now``: each job's line of counts, by job name."""
    out = io.StringIO()
    call_command("periodic", now=now, stdout=out)
    lines = dict(line.split(": ", 1) for line in out.getvalue().strip().splitlines())
    return lines


def make(personas, name, type, values, **kwargs):
    return services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name=name,
        type=type,
        values=values,
        ctx=Context(now=NOW),
        **kwargs,
    ).row


def test_every_registered_job_runs_in_one_command():
    names = [job.name for job in periodic.jobs()]
    for name in ("secrets.rotation", "secrets.renewal", "clusters.installations"):
        assert name in names
    assert names.index("secrets.renewal") < names.index("clusters.installations")


@pytest.mark.django_db(transaction=True)
def test_short_lived_certificate_is_renewed_inside_its_window_and_not_before(vault, personas):
    row = make(personas, "edge-tls", "tls", {"hosts": "localhost", "validity": "3h"})
    due = SecretLifecycle.objects.get(secret=row).renew_at
    assert due is not None and NOW + timedelta(hours=1) < due < NOW + timedelta(hours=3)

    before = run_periodic(due - timedelta(seconds=1))
    assert before["secrets.renewal"] == "queued 0"
    assert SecretIndex.objects.get(pk=row.pk).version == 1

    # The command only queues the renewal (once, however many rounds run before the
    # worker); the worker renews.
    inside = run_periodic(due)
    assert inside["secrets.renewal"] == "queued 1"
    assert inside["clusters.installations"] == "queued 0"
    assert run_periodic(due)["secrets.renewal"] == "queued 0"
    assert SecretIndex.objects.get(pk=row.pk).version == 1
    assert run_worker() == 1
    renewed = SecretIndex.objects.get(pk=row.pk)
    assert renewed.version == 2 and renewed.updated_by == "system"
    values = secret_values.read_values(standing=personas.admin, row=renewed, purpose="show")
    server = certificates(values["serverCert"])[0]
    assert server.not_valid_before_utc <= due < server.not_valid_after_utc
    # The 3-hour CA was inside its window too: a new CA, the old one kept for the transition.
    new_ca, old_ca = certificates(values["caCert"])
    assert renewed.expires_at == new_ca.not_valid_after_utc > old_ca.not_valid_after_utc
    event = AuditEvent.objects.get(action="secret.renew")
    assert event.actor == "system" and event.detail["purpose"] == "renewal"
    item = SecretLifecycle.objects.get(secret=row)
    assert item.renew_at is not None and item.renew_at > due and item.claimed_until is None

    again = run_periodic(due)
    assert again["secrets.renewal"] == "queued 0"


@pytest.mark.django_db
def test_expiry_that_cannot_be_renewed_here_is_announced_once(vault, personas):
    chain = REGISTRY["tls"].clean({"hosts": "localhost", "validity": "240h"}, Context(now=NOW))
    supplied = {k: v for k, v in chain.values.items() if k != "caKey"}
    row = make(personas, "partner-tls", "tls", supplied)
    assert not SecretLifecycle.objects.filter(secret=row, renew_at__isnull=False).exists()
    assert lifecycle.run_renewals(NOW)["expiring"] == 1
    assert lifecycle.run_renewals(NOW + timedelta(hours=1))["expiring"] == 0
    assert SecretLifecycle.objects.get(secret=row).expiry_notified_for == row.expires_at


@pytest.mark.django_db
def test_idle_rounds_cost_the_same_queries_whatever_the_number_of_secrets(vault, personas):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            lifecycle.run_rotations(NOW)
            lifecycle.run_renewals(NOW)
        return len(captured.captured_queries)

    make(personas, "first", "password", {"username": "u"}, rotation={"every": "30d"})
    few = queries()
    for i in range(20):
        make(personas, f"pw-{i}", "password", {"username": "u"}, rotation={"every": "30d"})
        make(personas, f"tls-{i}", "tls", {"hosts": "localhost", "keyType": "ecdsa-p256"})
    assert queries() == few <= 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_runners_rotate_each_due_secret_once(vault, personas):
    rows = [
        make(personas, f"db-{i}", "password", {"username": "u"}, rotation={"every": "1h"})
        for i in range(6)
    ]
    due = NOW + timedelta(hours=1)
    start = threading.Barrier(2)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            start.wait()
            results.append(lifecycle.run_rotations(due))
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sum(r["rotated"] for r in results) == len(rows)
    assert sum(r["failed"] for r in results) == 0
    assert AuditEvent.objects.filter(action="secret.rotate").count() == len(rows)
    for row in rows:
        assert SecretIndex.objects.get(pk=row.pk).version == 2
    assert set(SecretLifecycle.objects.values_list("next_rotation_at", flat=True)) == {
        due + timedelta(hours=1)
    }
