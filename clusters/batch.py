"""Installing a batch of secrets into one namespace: building each v1.Secret, writing it
without clobbering what this product does not manage, and recording what was installed.

Threads here touch only Vault and Kubernetes; the database is written once per batch, by
``Batch.record`` in the calling thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from clusters import kube, mapping
from clusters.models import Cluster, Installation
from orgs import policy
from pipeline_secrets.core import metrics
from pipeline_secrets.core.errors import ConflictError, NotFoundError, VaultUnavailableError
from secrets_app import values as secret_values
from secrets_app.models import SecretIndex
from secrets_app.types import REGISTRY, get_type

MANAGED_BY = ("app.kubernetes.io/managed-by", "pipeline-secrets")
ORG_LABEL = "secrets.pipeline.io/org-id"
ANNOTATION = "secrets.pipeline.io/"
# Kubernetes writes of one install batch in flight at once.
KUBE_WRITERS = 4
# The columns an install rewrites on the installation of a Secret it writes again (and
# ``workloads`` when the install names them).
INSTALL_COLUMNS = [
    "secret_id",
    "secret_name",
    "version",
    "sourcing",
    "status",
    "installed_by",
    "installed_at",
    "expires_at",
    "last_error",
    "spec",
    "merged",
    "keys",
]


@dataclass
class ItemResult:
    """The outcome of installing one secret."""

    name: str
    sourcing: str
    # installed | updated | unchanged | failed; on an agent cluster also pending (not applied
    # by its agent within the install's wait; ``error`` says so); held (a protected secret
    # new to the namespace: a change request, which ``error`` names).
    status: str
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


def kube_object(
    row: SecretIndex,
    values: dict[str, str],
    now: datetime,
    *,
    name: str,
    spec: mapping.Spec | None = None,
    literals: dict[str, str] | None = None,
) -> kube.SecretObject:
    stype = get_type(row.type)
    return kube.SecretObject(
        name=name,
        # With a mapping the keys are the caller's, so no type with required keys fits.
        type=(stype.kubernetes_type or "Opaque") if spec is None else "Opaque",
        data=mapping.build(stype, values, spec, literals=literals),
        labels={MANAGED_BY[0]: MANAGED_BY[1], ORG_LABEL: str(row.organization_id)},
        annotations={
            f"{ANNOTATION}secret-id": row.secret_id,
            f"{ANNOTATION}version": str(row.version),
            f"{ANNOTATION}installed-at": now.isoformat(),
        },
    )


def installed_keys(row: SecretIndex) -> list[str]:
    """The data keys the secret's v1.Secret gets, from its key names alone (no value is
    read): the type's ``install_data`` run over empty placeholders."""
    stype = REGISTRY.get(row.type)
    if stype is None:
        return sorted(row.keys)
    try:
        return sorted(stype.install_data(dict.fromkeys(row.keys, "")))
    except (KeyError, ValueError, TypeError):
        opaque = {f.name for f in stype.fields if f.opaque}
        return sorted(k for k in row.keys if k not in opaque)


def is_managed(existing: kube.SecretObject, organization_id: int) -> bool:
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
) -> tuple[str, bool]:
    """Create or update one Secret; the status word, and whether the data (or type) of an
    existing Secret changed. KubeError or ConflictError on failure.

    ``listed`` holds the namespace's Secrets when the caller could list them in one call."""
    if listed is not None:
        existing = listed.get(desired.name)
    else:
        existing = client.get(namespace, desired.name)
    if existing is None:
        client.create(namespace, desired)
        return "installed", False
    managed = is_managed(existing, organization_id)
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
        return "unchanged", False
    changed = existing.type != desired.type or existing.data != desired.data
    if existing.type != desired.type:
        # A Secret's type is immutable in Kubernetes: replace the object.
        client.delete(namespace, desired.name)
        client.create(namespace, desired)
    else:
        client.replace(namespace, desired)
    return "updated", changed


def values_or_error(standing: policy.Standing, row: SecretIndex) -> dict[str, Any] | Exception:
    """The values of one secret from Vault, read for ``standing`` through the values service
    (which asks the policy), or the error that prevented reading them."""
    try:
        return secret_values.read_values(standing=standing, row=row, purpose="install")
    except (NotFoundError, VaultUnavailableError, PermissionDenied) as exc:
        return exc


def merge_into(
    client: kube.SecretsClient,
    namespace: str,
    existing: kube.SecretObject,
    data: dict[str, str],
    *,
    drop: set[str] | frozenset[str] = frozenset(),
) -> str:
    """Write ``data``'s keys into an existing Secret, keeping its other keys (less ``drop``),
    its type, labels and annotations. The status word."""
    merged = {k: v for k, v in existing.data.items() if k not in drop}
    merged.update(data)
    if merged == existing.data:
        return "unchanged"
    client.replace(namespace, replace(existing, data=merged))
    return "updated"


def unmerge(
    client: kube.SecretsClient, namespace: str, name: str, keys: list[str], organization_id: int
) -> None:
    """Take merged keys out of a Secret; a Secret of ours left without keys is deleted, one
    this product does not manage is kept (its other keys are not ours to remove)."""
    existing = client.get(namespace, name)
    if existing is None:
        return
    remaining = {k: v for k, v in existing.data.items() if k not in set(keys)}
    if not remaining and is_managed(existing, organization_id):
        client.delete(namespace, name)
    elif remaining != existing.data:
        client.replace(namespace, replace(existing, data=remaining))


def _has_literals(spec: mapping.Spec | None) -> bool:
    return bool(spec) and any(item.get(mapping.LITERAL) for item in (spec or {}).values())


@dataclass
class Done:
    """One installed item, as ``Batch.record`` writes it."""

    row: SecretIndex
    at: datetime
    name: str
    keys: list[str]
    spec: mapping.Spec | None = None
    merged: bool = False
    # The data of a Secret that existed changed: its workloads are due a restart.
    changed: bool = False


@dataclass
class Batch:
    """Installs items into one namespace and records what was installed in one write."""

    cluster: Cluster
    namespace: str
    actor: str
    ttl: int | None
    # The workloads to record on the installations ({kind, name}); None keeps those recorded.
    workloads: list[dict[str, str]] | None = None
    done: list[Done] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def put(
        self,
        client: kube.SecretsClient,
        row: SecretIndex,
        values: dict[str, str] | Exception,
        *,
        overwrite: bool,
        listed: dict[str, kube.SecretObject] | None,
        name: str | None = None,
        spec: mapping.Spec | None = None,
        merged_keys: list[str] | None = None,
    ) -> ItemResult:
        """Install one item; a failure is a failed result, recorded on its installation.
        ``merged_keys``: re-sync the keys an earlier merge wrote into a Secret (see
        ``write``)."""
        sourcing = get_type(row.type).sourcing
        name = name or row.name
        try:
            if isinstance(values, Exception):
                raise values
            status = self.write(
                client,
                row,
                values,
                name=name,
                spec=spec,
                overwrite=overwrite,
                listed=listed,
                merged_keys=merged_keys,
            )
        except ValidationError as exc:
            message = " ".join(exc.messages)
            self.failed.append((name, message))
            return ItemResult(row.name, sourcing, "failed", self.namespace, message)
        except PermissionDenied as exc:
            self.failed.append((name, str(exc)))
            return ItemResult(row.name, sourcing, "failed", self.namespace, str(exc))
        except (kube.KubeError, ConflictError, NotFoundError, VaultUnavailableError) as exc:
            message = exc.message if isinstance(exc, kube.KubeError) else exc.detail
            self.failed.append((name, message))
            return ItemResult(row.name, sourcing, "failed", self.namespace, message)
        return ItemResult(row.name, sourcing, status, self.namespace)

    def write(
        self,
        client: kube.SecretsClient,
        row: SecretIndex,
        values: dict[str, str],
        *,
        name: str,
        spec: mapping.Spec | None,
        overwrite: bool,
        listed: dict[str, kube.SecretObject] | None,
        merged_keys: list[str] | None = None,
    ) -> str:
        """Create or replace the Secret ``name`` (or, with ``merged_keys``, rewrite the keys
        an earlier merge wrote, dropping those no longer produced); the status word. Raises
        what ``_put`` raises, and ValidationError when the mapping no longer fits."""
        now = timezone.now()
        existing: kube.SecretObject | None = None
        if merged_keys is not None or _has_literals(spec):
            existing = listed.get(name) if listed is not None else client.get(self.namespace, name)
            listed = {name: existing} if existing is not None else {}
        literals = existing.data if existing is not None else None
        if merged_keys is not None:
            if existing is None:
                raise NotFoundError(f"The Secret {name} the keys were merged into is gone.")
            data = mapping.build(get_type(row.type), values, spec, literals=literals)
            drop = set(merged_keys) - set(data)
            status = merge_into(client, self.namespace, existing, data, drop=drop)
            changed = status == "updated"
            self.done.append(Done(row, now, name, sorted(data), spec, True, changed))
            return status
        desired = kube_object(row, values, now, name=name, spec=spec, literals=literals)
        status, changed = _put(
            client,
            self.namespace,
            desired,
            overwrite=overwrite,
            organization_id=self.cluster.organization_id,
            listed=listed,
        )
        self.done.append(Done(row, now, name, sorted(desired.data), spec, changed=changed))
        return status

    def installation(self, item: Done) -> Installation:
        """The Installation row recording one installed item."""
        return Installation(
            cluster=self.cluster,
            namespace=self.namespace,
            kube_name=item.name,
            secret_id=item.row.secret_id,
            secret_name=item.row.name,
            version=item.row.version,
            sourcing=get_type(item.row.type).sourcing,
            status=Installation.Status.INSTALLED,
            installed_by=self.actor,
            installed_at=item.at,
            expires_at=item.at + timedelta(seconds=self.ttl) if self.ttl else None,
            last_error="",
            spec=mapping.stored(item.spec),
            merged=item.merged,
            keys=item.keys,
            workloads=self.workloads or [],
        )

    def record(self) -> None:
        """Upsert one Installation per installed item in one statement; mark the earlier
        installations of failed items as failed."""
        metrics.INSTALLS.labels(result="installed").inc(len(self.done))
        metrics.INSTALLS.labels(result="failed").inc(len(self.failed))
        for name, message in self.failed:
            Installation.objects.filter(
                cluster=self.cluster, namespace=self.namespace, kube_name=name
            ).update(status=Installation.Status.FAILED, last_error=message)
        objs = [self.installation(item) for item in self.done]
        if objs:
            Installation.objects.bulk_create(
                objs,
                update_conflicts=True,
                unique_fields=["cluster", "namespace", "kube_name"],
                update_fields=[
                    *INSTALL_COLUMNS,
                    *(["workloads"] if self.workloads is not None else []),
                ],
            )
