"""Reads of secret metadata from the index. Values (and anything else from Vault) are read by
``secrets_app.values`` only, which asks the policy first."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import F, OrderBy, Q, QuerySet
from django.urls import reverse

from orgs.models import Organization
from pipeline_secrets.core.errors import NotFoundError
from secrets_app.models import SecretIndex, SecretLifecycle, SecretTag
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
    expires_before: datetime | None = None,
) -> QuerySet[SecretIndex]:
    """Index rows of the org, filtered; a secret must carry every tag in ``tags``, and with
    ``expires_before`` hold a certificate expiring before then. Secrets tagged
    ``banzai:hidden`` are never listed (they are read by id or name). Each row comes with
    its lifecycle row (rotation schedule) in the same query."""
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
    if expires_before is not None:
        qs = qs.filter(expires_at__lt=expires_before)
    return qs.select_related("lifecycle").order_by("name")


# The list's orders: each ends on the name (unique with the secret id), so pages are stable.
SORTS: dict[str, tuple[OrderBy | str, ...]] = {
    "name": ("name", "secret_id"),
    "-name": ("-name", "secret_id"),
    "type": ("type", "name", "secret_id"),
    "-type": ("-type", "name", "secret_id"),
    "updated": (F("updated_at").asc(), "name", "secret_id"),
    "-updated": (F("updated_at").desc(), "name", "secret_id"),
    # Secrets without an expiry come last either way.
    "expiry": (F("expires_at").asc(nulls_last=True), "name", "secret_id"),
    "-expiry": (F("expires_at").desc(nulls_last=True), "name", "secret_id"),
}


def secret_search(
    *,
    organization: Organization,
    type: str | None = None,
    tags: Iterable[str] = (),
    text: str | None = None,
    sort: str = "name",
) -> QuerySet[SecretIndex]:
    """``secret_list`` where ``text`` matches the name or any tag (case-insensitive), in
    one of the ``SORTS`` orders."""
    qs = secret_list(organization=organization, type=type, tags=tags)
    if text:
        tagged = SecretTag.objects.filter(organization=organization, tag__icontains=text)
        qs = qs.filter(Q(name__icontains=text) | Q(pk__in=tagged.values("secret_id")))
    return qs.order_by(*SORTS[sort])


def secret_get(*, organization: Organization, secret_id: str) -> SecretIndex:
    row = SecretIndex.objects.for_org(organization).filter(secret_id=secret_id).first()
    if row is None:
        raise NotFoundError(SECRET_NOT_FOUND)
    return row


def secret_row(*, organization: Organization, secret_id: str) -> SecretIndex:
    """``secret_get`` for the API's per-request path: the index row with its lifecycle row
    (rotation schedule), from one statement, and its organization set."""
    try:
        row = SecretIndex.objects.select_related("lifecycle").get(
            organization_id=organization.pk, secret_id=secret_id
        )
    except SecretIndex.DoesNotExist:
        raise NotFoundError(SECRET_NOT_FOUND) from None
    row.organization = organization
    return row


def lifecycle_of(instance: Any) -> SecretLifecycle | None:
    """The lifecycle row of an index row (fetched with it by the selectors), if any."""
    if not isinstance(instance, SecretIndex):
        return None
    try:
        return instance.lifecycle
    except SecretLifecycle.DoesNotExist:
        return None


def tag_list(*, organization: Organization) -> list[str]:
    """Every tag in use in the org, sorted."""
    return list(
        SecretTag.objects.filter(organization=organization)
        .values_list("tag", flat=True)
        .distinct()
        .order_by("tag")
    )


def secret_expiring(*, organization: Organization, horizon: datetime) -> QuerySet[SecretIndex]:
    """The listed secrets of the org holding a certificate that expires before ``horizon``,
    expired ones included, soonest first."""
    return secret_list(organization=organization, expires_before=horizon).order_by(
        "expires_at", "name"
    )


def existing_ids(organization: Organization, secret_ids: set[str]) -> set[str]:
    """Which of ``secret_ids`` the org still has (one query)."""
    found = SecretIndex.objects.for_org(organization).filter(secret_id__in=secret_ids)
    return set(found.values_list("secret_id", flat=True))


def detail_url(organization: Organization, secret_id: str) -> str:
    return reverse("secrets:detail", args=[organization.pk, secret_id])
