"""Installed copies over time, as the task worker runs them (``clusters.tasks``): they follow
their secret's writes and deletes, expire, and failed ones are retried. Everything here runs
as the product itself (``RESYNC``): the copies were installed by a caller the policy allowed,
and re-syncing them shows no value to anyone. No request runs this code.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from clusters import kube, workloads
from clusters.agent import desired
from clusters.batch import Batch, ItemResult, values_or_error
from clusters.models import Cluster, Installation
from clusters.push import remove_copy
from clusters.services import RESYNC, cluster_kubeconfig, uninstall
from notifications import services as notifications
from pipeline_secrets.core.errors import NotFoundError, UpstreamError
from pipeline_secrets.core.metrics import SYNC_BACKLOG, SYNC_ITEMS, SYNC_LAG
from secrets_app.models import SecretIndex

logger = logging.getLogger(__name__)


def resync_copies(*, cluster_id: int, secret_id: str) -> list[ItemResult]:
    """The worker's task: bring the installed copies of one secret on one cluster to the
    secret's current version. Idempotent: a copy already installed at that version is left
    alone, so a task run twice (or after the periodic retry) writes nothing twice. Copies
    on an agent cluster are its agent's (``clusters.agent``): never contacted here."""
    items = Installation.objects.filter(cluster_id=cluster_id, secret_id=secret_id).exclude(
        cluster__mode=Cluster.Mode.AGENT
    )
    results = []
    for item in items.select_related("cluster", "cluster__organization"):
        if _up_to_date(item):
            continue
        results.append(_reinstall(item))
    return results


def _up_to_date(item: Installation) -> bool:
    if item.status != Installation.Status.INSTALLED:
        return False
    current = (
        SecretIndex.objects.for_org(item.cluster.organization)
        .filter(secret_id=item.secret_id)
        .values_list("version", flat=True)
        .first()
    )
    return current == item.version


def remove_copies(*, cluster_id: int, secret_id: str, last_try: bool) -> list[int]:
    """The worker's task after a secret is deleted: remove its installed copies from one
    cluster. A secret of the same name created since keeps its copies. Returns the ids of the
    copies left (the cluster refused or was unreachable); on the last try they are forgotten
    here (the copies stay on the cluster, as a log line says)."""
    items = Installation.objects.filter(cluster_id=cluster_id, secret_id=secret_id)
    left = []
    for item in items.select_related("cluster", "cluster__organization"):
        organization = item.cluster.organization
        if SecretIndex.objects.for_org(organization).filter(secret_id=secret_id).exists():
            continue
        try:
            uninstall(cluster=item.cluster, namespace=item.namespace, name=item.kube_name)
        except (UpstreamError, NotFoundError) as exc:
            logger.warning("installed copy %s left on cluster %s: %s", item.pk, cluster_id, exc)
            if last_try:
                item.delete()
            else:
                left.append(item.pk)
    return left


def remove_left_copies(*, cluster: Cluster, copies: list[dict[str, Any]]) -> int:
    """The worker's task after a cluster is deleted: remove the copies it held, with the
    kubeconfig secret it was reached through (still there: deleting a cluster keeps it).
    ``cluster`` is the deleted row, unsaved. Best effort; the copies left are counted."""
    try:
        with kube.secrets_client(cluster_kubeconfig(cluster)) as client:
            for copy in copies:
                item = Installation(
                    cluster=cluster,
                    namespace=copy["namespace"],
                    kube_name=copy["name"],
                    merged=copy["merged"],
                    keys=copy["keys"],
                )
                remove_copy(client, item)
    except (kube.KubeError, NotFoundError) as exc:
        logger.warning("deleted cluster %s left its copies: %s", cluster.name, exc)
        return len(copies)
    return 0


def _reinstall(item: Installation) -> ItemResult:
    """Bring one installed copy up to date; a copy that goes from installed to failed is
    announced (``installation.sync_failed``), once per failure, not at every retry."""
    was_failed = item.status == Installation.Status.FAILED
    result = _resync(item)
    if result.status == "failed" and not was_failed:
        _announce_failure(item, result.error)
    return result


def _announce_failure(item: Installation, error: str) -> None:
    cluster = item.cluster
    notifications.notify(
        organization=cluster.organization,
        event="installation.sync_failed",
        subject=f"Updating {item.kube_name} in {cluster.name}/{item.namespace} failed",
        detail={
            "secretId": item.secret_id,
            "secretName": item.secret_name,
            "version": item.version,
            "cluster": cluster.name,
            "clusterId": cluster.pk,
            "namespace": item.namespace,
            "kubeName": item.kube_name,
            "installationId": item.pk,
            "error": error[: notifications.MAX_DETAIL_TEXT],
        },
    )


def _resync(item: Installation) -> ItemResult:
    cluster = item.cluster
    row = SecretIndex.objects.for_org(cluster.organization).filter(secret_id=item.secret_id).first()
    if row is None:
        return ItemResult(item.secret_name, item.sourcing, "failed", item.namespace, "Secret gone.")
    try:
        kubeconfig = cluster_kubeconfig(cluster)
    except NotFoundError as exc:
        item.status, item.last_error = Installation.Status.FAILED, exc.detail
        item.save(update_fields=["status", "last_error"])
        return ItemResult(row.name, item.sourcing, "failed", item.namespace, exc.detail)
    batch = Batch(cluster, item.namespace, item.installed_by, _remaining_ttl(item))
    try:
        with kube.secrets_client(kubeconfig) as client:
            result = batch.put(
                client,
                row,
                values_or_error(RESYNC, row),
                overwrite=False,
                listed=None,
                name=item.kube_name,
                spec=item.spec,
                merged_keys=list(item.keys) if item.merged else None,
            )
        batch.record()
        workloads.restart_changed(batch, kubeconfig)
        return result
    except kube.KubeError as exc:
        item.status, item.last_error = Installation.Status.FAILED, exc.message
        item.save(update_fields=["status", "last_error"])
        return ItemResult(row.name, item.sourcing, "failed", item.namespace, exc.message)


def _remaining_ttl(item: Installation) -> int | None:
    if item.expires_at is None:
        return None
    return max(1, int((item.expires_at - timezone.now()).total_seconds()))


# How long a periodic run's claim on an item lasts: a round. The job runs every minute
# (make run, the Helm chart's CronJob); a failed retry is tried again in the next round.
CLAIM_SECONDS = 50
# Items claimed per transaction: small, so concurrent runners share the work.
CLAIM_BATCH = 10


def _claim(candidates: QuerySet[Installation], now: datetime) -> list[Installation]:
    """Claim up to CLAIM_BATCH due items no other runner holds or has handled this round.

    On PostgreSQL the rows are locked with ``FOR UPDATE SKIP LOCKED`` while the claim is
    written, so runners never wait for each other and never claim the same row; on SQLite
    (one writer at a time, IMMEDIATE transactions) the transaction alone does that."""
    with transaction.atomic():
        free = candidates.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        ids = list(
            free.select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:CLAIM_BATCH]
        )
        if not ids:
            return []
        Installation.objects.filter(pk__in=ids).update(
            claimed_until=now + timedelta(seconds=CLAIM_SECONDS)
        )
    return list(
        Installation.objects.filter(pk__in=ids)
        .select_related("cluster", "cluster__organization")
        .order_by("pk")
    )


def expire_and_retry(*, now: datetime | None = None) -> dict[str, int]:
    """Delete expired installations from their clusters (an agent cluster's: forget them
    and tell its agent); retry failed syncs on kubeconfig clusters (agents retry their own).

    Safe to run in any number of processes at once: each item is claimed by one runner
    (``_claim``) and handled once per round (CLAIM_SECONDS)."""
    now = now or timezone.now()
    counts = {"expired": 0, "retried": 0, "failed": 0}
    expired = Installation.objects.filter(expires_at__lte=now)
    failed = _failed_pushed()
    _measure_backlog(expired, failed, now)
    while batch := _claim(expired, now):
        agent = [item for item in batch if desired.is_agent(item.cluster)]
        desired.remove_copies(agent)
        counts["expired"] += len(agent)
        SYNC_ITEMS.labels(result="expired").inc(len(agent))
        for item in batch:
            if desired.is_agent(item.cluster):
                continue
            try:
                uninstall(cluster=item.cluster, namespace=item.namespace, name=item.kube_name)
                counts["expired"] += 1
                SYNC_ITEMS.labels(result="expired").inc()
            except (UpstreamError, NotFoundError):
                counts["failed"] += 1
                SYNC_ITEMS.labels(result="failed").inc()
    while batch := _claim(failed.exclude(expires_at__lte=now), now):
        for item in batch:
            result = _reinstall(item)
            outcome = "retried" if result.status != "failed" else "failed"
            counts[outcome] += 1
            SYNC_ITEMS.labels(result=outcome).inc()
    return counts


def _failed_pushed() -> QuerySet[Installation]:
    """Failed copies the server retries: those on kubeconfig clusters."""
    return Installation.objects.filter(status=Installation.Status.FAILED).exclude(
        cluster__mode=Cluster.Mode.AGENT
    )


def measure_backlog() -> None:
    """The periodic job's queue and lag as of now (measured at each scrape of /metrics)."""
    now = timezone.now()
    _measure_backlog(Installation.objects.filter(expires_at__lte=now), _failed_pushed(), now)


def _measure_backlog(
    expired: QuerySet[Installation], failed: QuerySet[Installation], now: datetime
) -> None:
    oldest = expired.order_by("expires_at").values_list("expires_at", flat=True).first()
    SYNC_BACKLOG.set(expired.count() + failed.count())
    SYNC_LAG.set((now - oldest).total_seconds() if oldest is not None else 0.0)
