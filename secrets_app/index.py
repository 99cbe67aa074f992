"""The metadata index of secrets (``SecretIndex`` rows and their ``SecretTag`` rows): a
copy of what Vault holds, kept for listing and tag queries, and rebuilt from Vault.

Writes of new versions (``secrets_app.writes``) call ``index_upsert`` inside their
transaction; ``index_sync`` makes one row match Vault again (the repair after
a failed index write, a read that found Vault ahead of the index); ``index_rebuild`` does
so for whole organizations (``manage.py rebuild_secret_index``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from orgs.models import Organization
from secrets_app import schedule, vault
from secrets_app.models import SecretIndex, SecretTag
from secrets_app.selectors import vault_path
from secrets_app.types import get_type


def _columns(document: dict[str, Any], version: int, updated_at: datetime) -> dict[str, Any]:
    return {
        "name": document["name"],
        "type": document["type"],
        "tags": list(document.get("tags") or []),
        "keys": sorted(document.get("values") or {}),
        "version": version,
        "updated_by": document.get("updatedBy") or "",
        "updated_at": updated_at,
    }


def index_upsert(
    *,
    organization: Organization,
    secret_id: str,
    document: dict[str, Any],
    version: int,
    updated_at: datetime,
    expires_at: datetime | None,
    fresh: bool = False,
) -> SecretIndex:
    """Write the index row and tag rows of one secret, as they are in ``document``, inside
    the caller's transaction. ``fresh``: the secret was just created, so there is nothing
    to update or remove (two statements; ``IntegrityError`` when the index still holds a
    row for the id)."""
    columns = {"expires_at": expires_at, **_columns(document, version, updated_at)}
    if fresh:
        row = SecretIndex.objects.create(organization=organization, secret_id=secret_id, **columns)
        existing: set[str] = set()
    else:
        row, _ = SecretIndex.objects.update_or_create(
            organization=organization, secret_id=secret_id, defaults=columns
        )
        SecretTag.objects.filter(secret=row).exclude(tag__in=row.tags).delete()
        existing = set(SecretTag.objects.filter(secret=row).values_list("tag", flat=True))
    added = [t for t in row.tags if t not in existing]
    if added:
        SecretTag.objects.bulk_create(
            [SecretTag(organization=organization, secret=row, tag=t) for t in added]
        )
    return row


def index_sync(*, organization: Organization, secret_id: str) -> SecretIndex | None:
    """Make the index row match Vault for one secret (remove it if Vault has none)."""
    document = vault.read(vault_path(organization.pk, secret_id))
    if document is None:
        SecretIndex.objects.for_org(organization).filter(secret_id=secret_id).delete()
        return None
    data = document.data
    stype = get_type(data.get("type"))
    values = dict(data.get("values") or {})
    with transaction.atomic():
        row = index_upsert(
            organization=organization,
            secret_id=secret_id,
            document=data,
            version=document.version,
            updated_at=vault.parse_time(document.created_time),
            expires_at=stype.expiry(values),
        )
        schedule.after_write(row=row, stype=stype, values=values)
    return row


# Under an org's folder, where proposed changes wait for approval (``orgs/<org>/held/...``).
HELD_FOLDER = "held/"


def index_rebuild(*, organizations: list[Organization] | None = None) -> dict[str, int]:
    """Rebuild the index of the given orgs (all by default) from Vault. Counts per outcome."""
    counts = {"indexed": 0, "removed": 0}
    for organization in organizations or list(Organization.objects.all()):
        in_vault = set(vault.list_keys(f"orgs/{organization.pk}"))
        # The folder of changes waiting for approval holds no secret.
        in_vault.discard(HELD_FOLDER)
        for secret_id in sorted(in_vault):
            if index_sync(organization=organization, secret_id=secret_id.rstrip("/")) is not None:
                counts["indexed"] += 1
        stale = SecretIndex.objects.for_org(organization).exclude(secret_id__in=in_vault)
        counts["removed"] += stale.count()
        stale.delete()
    return counts
