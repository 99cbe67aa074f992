"""Reads of secrets: metadata from the index, values from Vault on request only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from orgs.models import Organization
from pipeline_secrets.core.errors import NotFoundError
from secrets_app import vault
from secrets_app.models import SecretIndex, SecretTag
from secrets_app.validation import HIDDEN_TAG

SECRET_NOT_FOUND = "Secret not found."


def vault_path(organization_id: int, secret_id: str) -> str:
    return f"orgs/{organization_id}/{secret_id}"


def secret_list(
    *,
    organization: Organization,
    type: str | None = None,
    tags: Iterable[str] = (),
    ids: Iterable[str] = (),
    name_contains: str | None = None,
) -> QuerySet[SecretIndex]:
    """Index rows of the org, filtered; a secret must carry every tag in ``tags``. Secrets
    tagged ``banzai:hidden`` are never listed (they are read by id or name)."""
    qs = SecretIndex.objects.for_org(organization).exclude(
        pk__in=SecretTag.objects.filter(organization=organization, tag=HIDDEN_TAG).values(
            "secret_id"
        )
    )
    if type:
        qs = qs.filter(type=type)
    for tag in set(tags):
        qs = qs.filter(
            pk__in=SecretTag.objects.filter(organization=organization, tag=tag).values("secret_id")
        )
    id_list = list(ids)
    if id_list:
        qs = qs.filter(secret_id__in=id_list)
    if name_contains:
        qs = qs.filter(name__icontains=name_contains)
    return qs.order_by("name")


def secret_get(*, organization: Organization, secret_id: str) -> SecretIndex:
    row = SecretIndex.objects.for_org(organization).filter(secret_id=secret_id).first()
    if row is None:
        raise NotFoundError(SECRET_NOT_FOUND)
    return row


def secret_document(*, row: SecretIndex) -> vault.VaultDocument:
    """The Vault document behind an index row; NotFound if Vault no longer has it."""
    document = vault.read(vault_path(row.organization_id, row.secret_id))
    if document is None:
        raise NotFoundError(SECRET_NOT_FOUND)
    return document


def secret_values(*, row: SecretIndex) -> dict[str, Any]:
    values = secret_document(row=row).data.get("values") or {}
    return dict(values)


def tag_list(*, organization: Organization) -> list[str]:
    """Every tag in use in the org, sorted."""
    return list(
        SecretTag.objects.filter(organization=organization)
        .values_list("tag", flat=True)
        .distinct()
        .order_by("tag")
    )


def secret_versions(*, row: SecretIndex) -> list[vault.VersionInfo]:
    """The versions Vault keeps of a secret, newest first (KV v2 keeps the last ten)."""
    return vault.versions(vault_path(row.organization_id, row.secret_id))
