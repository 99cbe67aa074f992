"""What an agent tells the server back (``POST /api/v1/agent/report``): the copies it
applied or failed to apply, the SecretSyncs it wrote, the drift it found and repaired.

Only objects of the reporting agent's own cluster are touched; an id of another cluster's
installation is ignored. A copy reported at its secret's current version leaves
``pending``; its delay since the change (the secret's write, or the install) is the
propagation metric.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit import services as audit
from clusters.models import Cluster, DriftEvent, Installation, SecretSync
from pipeline_secrets.core.metrics import AGENT_DRIFT_REPAIRS, AGENT_PROPAGATION
from secrets_app.models import SecretIndex

MAX_ITEMS = 5000
ERROR_LENGTH = 2000


def _when(value: Any) -> datetime:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    now = timezone.now()
    if parsed is None or timezone.is_naive(parsed) or parsed > now:
        return now
    return parsed


def _items(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = body.get(key) or []
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise ValidationError({key: f"Must be a list of at most {MAX_ITEMS} objects."})
    if not all(isinstance(item, dict) for item in items):
        raise ValidationError({key: "Each item must be an object."})
    return items


def record(cluster: Cluster, body: dict[str, Any]) -> None:
    """Apply one report, all of it or nothing."""
    installed = _items(body, "installations")
    syncs = _items(body, "syncs")
    drift = _items(body, "drift")
    with transaction.atomic():
        _installations(cluster, installed)
        _syncs(cluster, syncs)
        _drift(cluster, drift)


def _installations(cluster: Cluster, reported: list[dict[str, Any]]) -> None:
    by_id = {item.get("id"): item for item in reported if isinstance(item.get("id"), int)}
    if not by_id:
        return
    items = list(Installation.objects.filter(cluster=cluster, pk__in=list(by_id)))
    current = {
        secret_id: (version, written)
        for secret_id, version, written in SecretIndex.objects.for_org(cluster.organization)
        .filter(secret_id__in={item.secret_id for item in items})
        .values_list("secret_id", "version", "updated_at")
    }
    alike: dict[tuple[str, str, int, datetime | None], list[int]] = defaultdict(list)
    for item in items:
        version, written = current.get(item.secret_id, (None, None))
        if _installation(item, by_id[item.pk], version, written):
            alike[(item.status, item.last_error, item.version, item.applied_at)].append(item.pk)
    # Copies reported alike (the same outcome and version, applied in the same second, as
    # most of a page are) are written by one UPDATE.
    for (status, last_error, version, applied_at), ids in alike.items():
        Installation.objects.filter(pk__in=ids).update(
            status=status, last_error=last_error, version=version, applied_at=applied_at
        )


def _installation(
    item: Installation, report: dict[str, Any], current: int | None, written: datetime | None
) -> bool:
    """Take one copy's report into ``item`` (unsaved); whether it changed."""
    applied_at = _when(report.get("appliedAt"))
    if report.get("status") == "failed":
        item.status = Installation.Status.FAILED
        item.last_error = str(report.get("error") or "The agent could not apply it.")[:ERROR_LENGTH]
    else:
        version = report.get("version")
        if not isinstance(version, int):
            return False
        item.version = version
        item.applied_at = applied_at
        item.last_error = ""
        if version == current:
            since = max(written or item.installed_at, item.installed_at)
            AGENT_PROPAGATION.observe(max((applied_at - since).total_seconds(), 0.0))
            item.status = Installation.Status.INSTALLED
    return True


def _syncs(cluster: Cluster, reported: list[dict[str, Any]]) -> None:
    for report in reported:
        sync = SecretSync.objects.filter(
            cluster=cluster, namespace=report.get("namespace"), name=report.get("name")
        ).first()
        if sync is None:
            continue
        sync.ready = bool(report.get("ready"))
        sync.message = str(report.get("error") or "")[:ERROR_LENGTH] or sync.message
        if sync.ready:
            sync.applied_version = str(report.get("version") or "")[:64]
            sync.applied_at = _when(report.get("appliedAt"))
            sync.message = ""
        sync.save(update_fields=["ready", "message", "applied_version", "applied_at"])


def _drift(cluster: Cluster, reported: list[dict[str, Any]]) -> None:
    events = []
    for report in reported:
        change = report.get("change")
        if change not in DriftEvent.Change.values:
            raise ValidationError({"drift.change": "Must be edited or deleted."})
        repaired = bool(report.get("repaired"))
        events.append(
            DriftEvent(
                cluster=cluster,
                namespace=str(report.get("namespace") or "")[:63],
                kube_name=str(report.get("name") or "")[:253],
                change=change,
                repaired=repaired,
                detected_at=_when(report.get("detectedAt")),
            )
        )
        AGENT_DRIFT_REPAIRS.labels(repaired=str(repaired).lower()).inc()
    DriftEvent.objects.bulk_create(events)
    audit.record_many(
        [
            audit.event(
                actor=f"cluster:{cluster.name}",
                action="cluster.drift",
                organization=cluster.organization,
                target_type="cluster",
                target_id=cluster.pk,
                target_name=cluster.name,
                namespace=event.namespace,
                secret=event.kube_name,
                change=event.change,
                repaired=event.repaired,
            )
            for event in events
        ]
    )
