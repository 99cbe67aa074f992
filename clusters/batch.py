"""Installing a batch of secrets into one namespace: building each v1.Secret, writing it
without clobbering what this product does not manage, and recording what was installed.

Threads here touch only Vault and Kubernetes; the database is written once per batch, by
``Batch.record`` in the calling thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from clusters import kube
from clusters.models import Cluster, Installation
from pipeline_secrets.core.errors import ConflictError, NotFoundError, VaultUnavailableError
from secrets_app import selectors as secret_selectors
from secrets_app.models import SecretIndex
from secrets_app.types import get_type

MANAGED_BY = ("app.kubernetes.io/managed-by", "pipeline-secrets")
ORG_LABEL = "secrets.pipeline.io/org-id"
ANNOTATION = "secrets.pipeline.io/"
# Kubernetes writes of one install batch in flight at once.
KUBE_WRITERS = 4


@dataclass
class ItemResult:
    """The outcome of installing one secret."""

    name: str
    sourcing: str
    status: str  # installed | updated | unchanged | failed
    namespace: str
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.name,
            "sourcing": self.sourcing,
            "status": self.status,
            "namespace": self.namespace,
        }
        if self.error:
            body["error"] = self.error
        return body


def _kube_object(row: SecretIndex, values: dict[str, str], now: datetime) -> kube.SecretObject:
    stype = get_type(row.type)
    return kube.SecretObject(
        name=row.name,
        type=stype.kubernetes_type or "Opaque",
        data=stype.install_data(values),
        labels={MANAGED_BY[0]: MANAGED_BY[1], ORG_LABEL: str(row.organization_id)},
        annotations={
            f"{ANNOTATION}secret-id": row.secret_id,
            f"{ANNOTATION}version": str(row.version),
            f"{ANNOTATION}installed-at": now.isoformat(),
        },
    )


def _is_managed(existing: kube.SecretObject, organization_id: int) -> bool:
    return existing.labels.get(MANAGED_BY[0]) == MANAGED_BY[1] and existing.labels.get(
        ORG_LABEL
    ) == str(organization_id)


def _put(
    client: kube.SecretsClient,
    namespace: str,
    desired: kube.SecretObject,
    *,
    overwrite: bool,
    organization_id: int,
    listed: dict[str, kube.SecretObject] | None = None,
) -> str:
    """Create or update one Secret; the status word. KubeError or ConflictError on failure.

    ``listed`` holds the namespace's Secrets when the caller could list them in one call."""
    if listed is not None:
        existing = listed.get(desired.name)
    else:
        existing = client.get(namespace, desired.name)
    if existing is None:
        client.create(namespace, desired)
        return "installed"
    managed = _is_managed(existing, organization_id)
    if not managed and not overwrite:
        raise ConflictError(
            f"A Secret named {desired.name} that this product does not manage exists in "
            f"{namespace}; pass overwrite=true to replace it."
        )
    version_key = f"{ANNOTATION}version"
    if (
        managed
        and existing.type == desired.type
        and existing.data == desired.data
        and existing.annotations.get(version_key) == desired.annotations.get(version_key)
    ):
        return "unchanged"
    if existing.type != desired.type:
        # A Secret's type is immutable in Kubernetes: replace the object.
        client.delete(namespace, desired.name)
        client.create(namespace, desired)
    else:
        client.replace(namespace, desired)
    return "updated"


def values_or_error(row: SecretIndex) -> dict[str, str] | Exception:
    """The values of one secret from Vault, or the error that prevented reading them."""
    try:
        return secret_selectors.secret_values(row=row)
    except (NotFoundError, VaultUnavailableError) as exc:
        return exc


@dataclass
class Batch:
    """Installs items into one namespace and records what was installed in one write."""

    cluster: Cluster
    namespace: str
    actor: str
    ttl: int | None
    done: list[tuple[SecretIndex, datetime]] = field(default_factory=list)
    failed: list[tuple[SecretIndex, str]] = field(default_factory=list)

    def put(
        self,
        client: kube.SecretsClient,
        row: SecretIndex,
        values: dict[str, str] | Exception,
        *,
        overwrite: bool,
        listed: dict[str, kube.SecretObject] | None,
    ) -> ItemResult:
        sourcing = get_type(row.type).sourcing
        now = timezone.now()
        try:
            if isinstance(values, Exception):
                raise values
            status = _put(
                client,
                self.namespace,
                _kube_object(row, values, now),
                overwrite=overwrite,
                organization_id=self.cluster.organization_id,
                listed=listed,
            )
        except (kube.KubeError, ConflictError, NotFoundError, VaultUnavailableError) as exc:
            message = exc.message if isinstance(exc, kube.KubeError) else exc.detail
            self.failed.append((row, message))
            return ItemResult(row.name, sourcing, "failed", self.namespace, message)
        self.done.append((row, now))
        return ItemResult(row.name, sourcing, status, self.namespace)

    def record(self) -> None:
        """Upsert one Installation per installed item in one statement; mark the earlier
        installations of failed items as failed."""
        for row, message in self.failed:
            Installation.objects.filter(
                cluster=self.cluster, namespace=self.namespace, kube_name=row.name
            ).update(status=Installation.Status.FAILED, last_error=message)
        objs = [
            Installation(
                cluster=self.cluster,
                namespace=self.namespace,
                kube_name=row.name,
                secret_id=row.secret_id,
                secret_name=row.name,
                version=row.version,
                sourcing=get_type(row.type).sourcing,
                status=Installation.Status.INSTALLED,
                installed_by=self.actor,
                installed_at=now,
                expires_at=now + timedelta(seconds=self.ttl) if self.ttl else None,
                last_error="",
            )
            for row, now in self.done
        ]
        if objs:
            Installation.objects.bulk_create(
                objs,
                update_conflicts=True,
                unique_fields=["cluster", "namespace", "kube_name"],
                update_fields=[
                    "secret_id",
                    "secret_name",
                    "version",
                    "sourcing",
                    "status",
                    "installed_by",
                    "installed_at",
                    "expires_at",
                    "last_error",
                ],
            )
