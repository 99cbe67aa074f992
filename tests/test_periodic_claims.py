"""The periodic job (``sync_installations`` / ``expire_and_retry``) run by several runners
at once on PostgreSQL: every due item is handled exactly once per round."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from clusters.models import Cluster, Installation
from clusters.sync import expire_and_retry
from orgs import services as org_services
from tests.conftest import make_user

RUNNERS = 4
EXPIRED = 60
FAILED = 60

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks with SKIP LOCKED need PostgreSQL"
)


def _items() -> None:
    admin = make_user("periodic")
    org = org_services.organization_create(actor=admin, name="periodic-org", operator=True)
    # The kubeconfig secret does not exist: each item is handled (and counted as failed)
    # without a cluster, which is all this test needs to count who handled what.
    cluster = Cluster.objects.create(organization=org, name="c", kubeconfig_secret_id="gone")
    past = timezone.now() - timedelta(minutes=5)
    rows = [
        Installation(
            cluster=cluster,
            namespace="ns",
            secret_id=f"s{index}",
            secret_name=f"s{index}",
            kube_name=f"k{index}",
            version=1,
            sourcing="override",
            status=Installation.Status.FAILED if index >= EXPIRED else "installed",
            expires_at=past if index < EXPIRED else None,
        )
        for index in range(EXPIRED + FAILED)
    ]
    Installation.objects.bulk_create(rows)


def _run_concurrently() -> list[dict[str, int]]:
    start = threading.Barrier(RUNNERS)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            start.wait()
            results.append(expire_and_retry())
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner) for _ in range(RUNNERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert len(results) == RUNNERS
    return results


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_runners_handle_each_item_once_per_round() -> None:
    _items()

    results = _run_concurrently()

    handled = sum(sum(counts.values()) for counts in results)
    assert handled == EXPIRED + FAILED, results
    # More than one runner did part of the work: they ran side by side, not in turn.
    assert sum(1 for counts in results if sum(counts.values())) >= 2, results
    # Within the round nothing is taken again; once the round is over, it is.
    assert sum(expire_and_retry().values()) == 0
    later = timezone.now() + timedelta(minutes=2)
    assert sum(expire_and_retry(now=later).values()) == EXPIRED + FAILED
