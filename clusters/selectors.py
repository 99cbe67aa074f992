"""Reads of clusters and installations, always scoped to an organization."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from clusters.models import Cluster, Installation
from orgs.models import Organization
from pipeline_secrets.core.errors import NotFoundError
from secrets_app.models import SecretIndex


def cluster_list(*, organization: Organization) -> QuerySet[Cluster]:
    return Cluster.objects.for_org(organization).select_related("organization")


def cluster_get(*, organization: Organization, cluster_id: int) -> Cluster:
    cluster = cluster_list(organization=organization).filter(pk=cluster_id).first()
    if cluster is None:
        raise NotFoundError("Cluster not found.")
    return cluster


def installation_list(*, cluster: Cluster) -> QuerySet[Installation]:
    return Installation.objects.filter(cluster=cluster)


def installations_of_secrets(
    *, organization: Organization, secret_ids: list[str]
) -> QuerySet[Installation]:
    return (
        Installation.objects.for_org(organization)
        .filter(secret_id__in=secret_ids)
        .select_related("cluster")
        .order_by("cluster__name", "namespace")
    )


@dataclass
class InstalledSecret:
    """A secret's index row with one of its installations in a cluster; reads like the row."""

    row: SecretIndex
    installation: Installation

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)


def installed_secrets(*, cluster: Cluster) -> list[InstalledSecret]:
    """The secrets installed in the cluster, one entry per installed copy (two queries).
    A copy whose secret is gone (being deleted) is left out."""
    items = list(installation_list(cluster=cluster))
    rows = {
        row.secret_id: row
        for row in SecretIndex.objects.for_org(cluster.organization).filter(
            secret_id__in={item.secret_id for item in items}
        )
    }
    return [InstalledSecret(rows[item.secret_id], item) for item in items if item.secret_id in rows]


def existing_ids(organization: Organization, cluster_ids: set[str]) -> set[str]:
    """Which of ``cluster_ids`` (as text, as audit events hold them) the org still has."""
    wanted = [int(i) for i in cluster_ids if i.isdigit() and len(i) < 19]
    found = Cluster.objects.for_org(organization).filter(pk__in=wanted)
    return {str(pk) for pk in found.values_list("pk", flat=True)}


def detail_url(organization: Organization, cluster_id: str) -> str:
    return reverse("clusters:detail", args=[organization.pk, int(cluster_id)])
