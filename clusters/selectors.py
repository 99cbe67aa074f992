"""Reads of clusters and installations, always scoped to an organization."""

from __future__ import annotations

from django.db.models import QuerySet

from clusters.models import Cluster, Installation
from orgs.models import Organization
from pipeline_secrets.core.errors import NotFoundError


def cluster_list(*, organization: Organization) -> QuerySet[Cluster]:
    return Cluster.objects.for_org(organization).select_related("organization")


def cluster_get(*, organization: Organization, cluster_id: int) -> Cluster:
    cluster = cluster_list(organization=organization).filter(pk=cluster_id).first()
    if cluster is None:
        raise NotFoundError("Cluster not found.")
    return cluster


def installation_list(*, cluster: Cluster) -> QuerySet[Installation]:
    return Installation.objects.filter(cluster=cluster)


def installations_of_secret(
    *, organization: Organization, secret_id: str
) -> QuerySet[Installation]:
    return (
        Installation.objects.for_org(organization)
        .filter(secret_id=secret_id)
        .select_related("cluster")
    )
