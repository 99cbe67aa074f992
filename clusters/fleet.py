"""The fleet: every cluster of an organization with how its copies stand.

Per cluster: its mode, whether it answers (a kubeconfig cluster: its last check; an agent
cluster: a call from its agent within two heartbeats, as ``clusters.agent.desired.check``
says), its installations counted
against the current versions of their secrets, its SecretSync objects and the drift its
agent reported. A fixed number of queries, however many clusters and installations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from clusters.models import Cluster, DriftEvent, Installation, SecretSync
from orgs.models import Organization
from secrets_app.models import SecretIndex

RECENT_DRIFT = 10


def agent_silent_after() -> timedelta:
    """How long an agent may be silent and still count as reachable: two heartbeats."""
    return timedelta(seconds=2 * settings.AGENT_HEARTBEAT_SECONDS)


DRIFT_WINDOW = timedelta(hours=24)


@dataclass
class InstallationCounts:
    """``current``: installed at the secret's current version; ``behind``: at an older
    version (whatever its status); ``pending`` and ``failed``: by status."""

    total: int = 0
    current: int = 0
    behind: int = 0
    pending: int = 0
    failed: int = 0


@dataclass
class SyncCounts:
    total: int = 0
    ready: int = 0

    @property
    def not_ready(self) -> int:
        return self.total - self.ready


@dataclass
class Drift:
    last24h: int = 0
    recent: list[DriftEvent] = field(default_factory=list)


@dataclass
class FleetEntry:
    cluster: Cluster
    installations: InstallationCounts
    syncs: SyncCounts
    drift: Drift
    now: datetime

    @property
    def is_agent(self) -> bool:
        return self.cluster.mode == Cluster.Mode.AGENT

    @property
    def reachable(self) -> bool | None:
        if not self.is_agent:
            return self.cluster.reachable
        seen = self.cluster.agent_seen_at
        return seen is not None and self.now - seen <= agent_silent_after()

    @property
    def last_seen(self) -> datetime | None:
        """An agent's last call; a kubeconfig cluster's last check that reached it."""
        if self.is_agent:
            return self.cluster.agent_seen_at
        return self.cluster.checked_at if self.cluster.reachable else None


def _installation_counts(installations: QuerySet[Installation], organization: Organization) -> Any:
    current_version = (
        SecretIndex.objects.filter(organization=organization, secret_id=OuterRef("secret_id"))
        .order_by()
        .values("version")[:1]
    )
    status = Installation.Status
    return (
        installations.annotate(current_version=Subquery(current_version))
        .values("cluster_id")
        .annotate(
            total=Count("pk"),
            current=Count("pk", filter=Q(status=status.INSTALLED, version=F("current_version"))),
            behind=Count("pk", filter=Q(version__lt=F("current_version"))),
            pending=Count("pk", filter=Q(status=status.PENDING)),
            failed=Count("pk", filter=Q(status=status.FAILED)),
        )
        .order_by()
    )


def _recent_drift(events: QuerySet[DriftEvent], limit: int) -> list[DriftEvent]:
    ranked = events.annotate(
        rank=Window(
            RowNumber(),
            partition_by=[F("cluster_id")],
            order_by=[F("detected_at").desc(), F("pk").desc()],
        )
    )
    return list(ranked.filter(rank__lte=limit).order_by("cluster_id", "-detected_at", "-pk"))


def fleet(*, organization: Organization, cluster_ids: list[int] | None = None) -> list[FleetEntry]:
    """The organization's clusters (or those of ``cluster_ids``), by name; six queries."""
    clusters = Cluster.objects.for_org(organization)
    if cluster_ids is not None:
        clusters = clusters.filter(pk__in=cluster_ids)
    listed = list(clusters.select_related("organization"))
    ids = [c.pk for c in listed]
    now = timezone.now()
    counts = {
        row.pop("cluster_id"): InstallationCounts(**row)
        for row in _installation_counts(
            Installation.objects.filter(cluster_id__in=ids), organization
        )
    }
    syncs = {
        row["cluster_id"]: SyncCounts(row["total"], row["ready"])
        for row in SecretSync.objects.filter(cluster_id__in=ids)
        .values("cluster_id")
        .annotate(total=Count("pk"), ready=Count("pk", filter=Q(ready=True)))
        .order_by()
    }
    drift_events = DriftEvent.objects.filter(cluster_id__in=ids)
    last24h = dict(
        drift_events.filter(detected_at__gte=now - DRIFT_WINDOW)
        .values("cluster_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("cluster_id", "n")
    )
    recent: dict[int, list[DriftEvent]] = {}
    for event in _recent_drift(drift_events, RECENT_DRIFT):
        recent.setdefault(event.cluster_id, []).append(event)
    return [
        FleetEntry(
            cluster=c,
            installations=counts.get(c.pk, InstallationCounts()),
            syncs=syncs.get(c.pk, SyncCounts()),
            drift=Drift(last24h.get(c.pk, 0), recent.get(c.pk, [])),
            now=now,
        )
        for c in listed
    ]


def fleet_entry(*, cluster: Cluster) -> FleetEntry:
    """One cluster's entry of the fleet."""
    return fleet(organization=cluster.organization, cluster_ids=[cluster.pk])[0]
