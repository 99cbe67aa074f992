"""Reads of an organization's database connections and roles, always through the org."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse

from databases.models import DatabaseConnection, DatabaseInstall, DatabaseRole
from orgs.models import Organization
from pipeline_secrets.core.errors import NotFoundError


def connection_list(*, organization: Organization) -> QuerySet[DatabaseConnection]:
    return DatabaseConnection.objects.for_org(organization)


def connection_get(*, organization: Organization, connection_id: int) -> DatabaseConnection:
    found = connection_list(organization=organization).filter(pk=connection_id).first()
    if found is None:
        raise NotFoundError("No such database connection.")
    return found


def role_list(*, organization: Organization) -> QuerySet[DatabaseRole]:
    return DatabaseRole.objects.for_org(organization).select_related("connection")


def role_get(*, organization: Organization, role_id: int) -> DatabaseRole:
    found = role_list(organization=organization).filter(pk=role_id).first()
    if found is None:
        raise NotFoundError("No such database role.")
    return found


def installs_of(*, role: DatabaseRole) -> QuerySet[DatabaseInstall]:
    return role.installs.filter(status=DatabaseInstall.Status.ACTIVE).select_related("cluster")


def _ids(given: set[str]) -> list[int]:
    return [int(i) for i in given if i.isdigit() and len(i) < 19]


def existing_connection_ids(organization: Organization, ids: set[str]) -> set[str]:
    found = connection_list(organization=organization).filter(pk__in=_ids(ids))
    return {str(pk) for pk in found.values_list("pk", flat=True)}


def connection_url(organization: Organization, connection_id: str) -> str:
    return reverse("databases:connection", args=[organization.pk, int(connection_id)])


def existing_role_ids(organization: Organization, ids: set[str]) -> set[str]:
    found = role_list(organization=organization).filter(pk__in=_ids(ids))
    return {str(pk) for pk in found.values_list("pk", flat=True)}


def role_url(organization: Organization, role_id: str) -> str:
    return reverse("databases:role", args=[organization.pk, int(role_id)])
