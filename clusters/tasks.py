"""What the task worker (``manage.py db_worker``) runs for clusters, and what queues it.

A secret's write or delete never waits on a cluster: the hooks below run inside the write's
transaction, mark the installed copies ``pending`` and queue one task per cluster, so the
task rows commit with the new version or not at all, and a process that dies after the
commit leaves them for the next worker. The tasks are idempotent (``clusters.sync``): one
that runs twice writes nothing twice. A task whose cluster failed queues itself again after
a backoff; after the last try the periodic job's retry of failed copies takes over.
Agent-mode clusters get no task: their copies and SecretSyncs get change events in the same
transaction, and their agents apply them (``clusters.agent``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from clusters import sync
from clusters.agent import desired, follow
from clusters.models import Cluster, Installation
from orgs.models import Organization
from pipeline_secrets.core import queue

# Seconds before each further try of a task whose cluster failed (unreachable, refused).
RETRY_BACKOFF = (5, 20, 60)


@task()
def resync_copies(cluster_id: int, secret_id: str, attempt: int = 0) -> dict[str, int]:
    """Bring the installed copies of ``secret_id`` on one cluster to its current version."""
    results = sync.resync_copies(cluster_id=cluster_id, secret_id=secret_id)
    failed = sum(1 for result in results if result.status == "failed")
    if failed and attempt < len(RETRY_BACKOFF):
        resync_copies.using(run_after=_later(attempt)).enqueue(
            cluster_id=cluster_id, secret_id=secret_id, attempt=attempt + 1
        )
    return {"synced": len(results) - failed, "failed": failed}


@task()
def remove_copies(cluster_id: int, secret_id: str, attempt: int = 0) -> dict[str, int]:
    """Remove the installed copies of a deleted secret from one cluster."""
    last_try = attempt >= len(RETRY_BACKOFF)
    left = sync.remove_copies(cluster_id=cluster_id, secret_id=secret_id, last_try=last_try)
    if left and not last_try:
        remove_copies.using(run_after=_later(attempt)).enqueue(
            cluster_id=cluster_id, secret_id=secret_id, attempt=attempt + 1
        )
    return {"left": len(left)}


@task()
def remove_cluster_copies(
    organization_id: int, name: str, kubeconfig_secret_id: str, copies: list[dict[str, Any]]
) -> dict[str, int]:
    """Remove the copies a deleted cluster held (``clusters.deletion``)."""
    cluster = Cluster(
        organization_id=organization_id, name=name, kubeconfig_secret_id=kubeconfig_secret_id
    )
    return {"left": sync.remove_left_copies(cluster=cluster, copies=copies)}


@task()
def sweep_installations(now: str) -> dict[str, int]:
    """The periodic round's work on installed copies: expire and retry (``sync``)."""
    return sync.expire_and_retry(now=datetime.fromisoformat(now))


def _later(attempt: int) -> datetime:
    return timezone.now() + timedelta(seconds=RETRY_BACKOFF[attempt])


def follow_secret_write(*, organization: Organization, secret_id: str) -> list[dict[str, Any]]:
    """The ``after_write`` hook, in the caller's transaction: every installed copy of the
    secret becomes ``pending``; a re-sync per kubeconfig cluster is queued, and agent
    clusters get change events (``clusters.agent.follow``), for their copies and for the
    SecretSyncs that use or may select the secret. The items returned tell the caller which
    copies will follow."""
    items = list(
        Installation.objects.for_org(organization)
        .filter(secret_id=secret_id)
        .select_related("cluster")
        .only(
            "pk",
            "namespace",
            "kube_name",
            "sourcing",
            "secret_name",
            "cluster__name",
            "cluster__mode",
        )
    )
    agent, pushed = _by_mode(items)
    follow.follow_write(organization=organization, secret_id=secret_id, agent=agent)
    if not items:
        return []
    Installation.objects.filter(pk__in=[item.pk for item in pushed]).update(
        status=Installation.Status.PENDING, last_error=""
    )
    for cluster_id in sorted({item.cluster_id for item in pushed}):
        resync_copies.enqueue(cluster_id=cluster_id, secret_id=secret_id)
    return [
        {
            "name": item.secret_name,
            "sourcing": item.sourcing,
            "status": Installation.Status.PENDING.value,
            "namespace": item.namespace,
            "cluster": item.cluster.name,
            "kubeName": item.kube_name,
        }
        for item in items
    ]


def _by_mode(items: list[Installation]) -> tuple[list[Installation], list[Installation]]:
    """The copies on agent clusters, and those the server writes itself."""
    agent = [item for item in items if desired.is_agent(item.cluster)]
    return agent, [item for item in items if not desired.is_agent(item.cluster)]


def forget_secret(*, organization: Organization, secret_id: str) -> None:
    """The ``after_delete`` hook, in the delete's transaction: agent copies are forgotten
    with a removal event each, the SecretSyncs using the secret get a ``sync`` event, and
    the worker removes the copies on kubeconfig clusters."""
    row = follow.secret_row(organization=organization, secret_id=secret_id)
    follow.sync_events(organization=organization, secret_id=secret_id, row=row)
    installed = Installation.objects.for_org(organization).filter(secret_id=secret_id)
    agent, pushed = _by_mode(
        list(
            installed.select_related("cluster").only(
                "pk", "namespace", "kube_name", "cluster__mode"
            )
        )
    )
    desired.remove_copies(agent)
    Installation.objects.filter(pk__in=[item.pk for item in pushed]).update(
        status=Installation.Status.PENDING, last_error=""
    )
    for cluster_id in sorted({item.cluster_id for item in pushed}):
        remove_copies.enqueue(cluster_id=cluster_id, secret_id=secret_id)


def enqueue_due(now: datetime) -> dict[str, int]:
    """The periodic job: queue a sweep when copies have expired or failed (on kubeconfig
    clusters); it never contacts a cluster itself. One query when nothing is due."""
    # Failed copies on agent clusters are their agents' to retry.
    failed = Q(status=Installation.Status.FAILED) & ~Q(cluster__mode=Cluster.Mode.AGENT)
    due = Installation.objects.filter(Q(expires_at__lte=now) | failed).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
    )
    if not due.exists():
        return {"queued": 0}
    return {"queued": queue.enqueue_once(sweep_installations, now=now.isoformat())}
