"""Clusters, and installing secrets into them as v1.Secrets.

Invariants:
- only secrets of the cluster's own organization are ever installed into it;
- a Secret this product did not create is never overwritten unless an admin says so;
- a cluster is contacted only with a kubeconfig ``clusters.kube`` accepts, at its server;
  an agent-mode cluster never (``clusters.agent.desired`` records what its agent applies);
- a managed Secret is rewritten only when its content changed;
- an installation row exists only for what was really installed; failures are reported
  per item and recorded on the row of a previous install, never swallowed;
- Secret data never reaches logs, exceptions or the database.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.utils import timezone

from clusters import holds, kube, namespaces, push, workloads
from clusters.agent import desired
from clusters.batch import Batch, ItemResult
from clusters.models import Cluster, Installation
from clusters.namespaces import audit_cluster, validate_label
from orgs import policy
from orgs.models import Organization
from pipeline_secrets.core.errors import (
    AppError,
    ConflictError,
    NotFoundError,
    UpstreamError,
)
from secrets_app import selectors as secret_selectors
from secrets_app import values as secret_values
from secrets_app.models import SecretIndex
from secrets_app.types import Context, get_type
from secrets_app.types.kubernetes import FIELD as KUBECONFIG_FIELD
from secrets_app.types.kubernetes import kubeconfig_text

logger = logging.getLogger(__name__)

MAX_TTL = 30 * 24 * 3600
# Who the audit trail names for what the product does by itself (expiry, clean-up).
SYSTEM_ACTOR = "system"
# The product's own standing when it connects to a cluster with the cluster's kubeconfig.
CONNECT = policy.System("connect to a cluster with its kubeconfig")
RESYNC = policy.System("re-sync an installed copy")


@dataclass
class InstallQuery:
    type: str | None = None
    tags: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.type or self.tags or self.ids)


# --------------------------------------------------------------------------- clusters


def cluster_kubeconfig(cluster: Cluster) -> str:
    """The kubeconfig of the cluster, from its ``kubernetes`` secret in Vault: read by the
    product itself to connect (it never leaves this process). An agent cluster has none: a
    ConflictError, so no path connects to one by mistake."""
    if desired.is_agent(cluster):
        raise ConflictError(desired.NO_KUBECONFIG.format(name=cluster.name))
    row = secret_selectors.secret_get(
        organization=cluster.organization, secret_id=cluster.kubeconfig_secret_id
    )
    values = secret_values.read_values(standing=CONNECT, row=row, purpose="connect")
    return str(values[KUBECONFIG_FIELD])


def _usable(kubeconfig: str, field_name: str) -> None:
    """ValidationError on ``field_name`` unless the kubeconfig may be used now."""
    try:
        kube.check_kubeconfig(kubeconfig)
    except kube.KubeRefusedError as exc:
        raise ValidationError({field_name: exc.message}) from None


def _on_field(exc: ValidationError, field_name: str) -> ValidationError:
    """The errors of a kubeconfig secret's values, moved to the field that took it."""
    if not hasattr(exc, "error_dict"):
        return ValidationError({field_name: exc.messages})
    moved: dict[str, list[str]] = {}
    for key, messages in exc.message_dict.items():
        target = field_name if key == "values" or key.startswith("values.") else key
        moved.setdefault(target, []).extend(messages)
    return ValidationError(moved)


def cluster_check(*, cluster: Cluster) -> Cluster:
    """Ask the cluster for its version; record reachability, version and any error. An
    agent cluster is not asked: its agent's heartbeat tells (``desired.check``)."""
    if desired.is_agent(cluster):
        return desired.check(cluster)
    try:
        cluster.server_version = kube.server_version(cluster_kubeconfig(cluster))
        cluster.reachable, cluster.last_error = True, ""
    except kube.KubeError as exc:
        cluster.reachable, cluster.last_error = False, exc.message
    cluster.checked_at = timezone.now()
    cluster.save(update_fields=["server_version", "reachable", "last_error", "checked_at"])
    return cluster


def _check_kubeconfig_secret(
    actor: policy.Actor, organization: Organization, secret_id: str
) -> None:
    """A ValidationError on ``secretId`` unless it names a usable kubernetes secret of the org
    (reading it asks the policy, as every read of values does)."""
    row = SecretIndex.objects.for_org(organization).filter(secret_id=secret_id).first()
    if row is None or row.type != "kubernetes":
        raise ValidationError(
            {"secretId": "Must be the id of a kubernetes secret of this organization."}
        )
    values = secret_values.read_values(standing=actor, row=row, purpose="connect")
    _usable(str(values.get(KUBECONFIG_FIELD) or ""), "secretId")


def cluster_create(
    *,
    actor: policy.Actor,
    organization: Organization,
    name: Any,
    secret_id: str | None = None,
    kubeconfig: str | None = None,
    ctx: Context | None = None,
) -> Cluster:
    """Register a cluster (admins) from a ``kubernetes`` secret of the org, or from a
    kubeconfig stored first as such a secret tagged ``cluster:<name>``; an unusable one
    (``kube.check_kubeconfig``) is a ValidationError on the field giving it."""
    from secrets_app import services as secret_services

    policy.require(policy.standing_of(actor, organization), "cluster.manage")
    name = validate_label(name, "name")
    if Cluster.objects.for_org(organization).filter(name=name).exists():
        raise ConflictError(f"A cluster named {name!r} already exists in this organization.")
    if bool(secret_id) == bool(kubeconfig):
        raise ValidationError({"secretId": "Give either secretId or kubeconfig, not both."})
    if kubeconfig:
        try:
            _usable(kubeconfig_text(kubeconfig), "kubeconfig")
            written = secret_services.secret_create(
                actor=actor,
                organization=organization,
                name=f"{name}-kubeconfig",
                type="kubernetes",
                values={KUBECONFIG_FIELD: kubeconfig},
                tags=[f"cluster:{name}"],
                ctx=ctx,
            )
        except ValidationError as exc:
            raise _on_field(exc, "kubeconfig") from None
        secret_id = written.row.secret_id
    else:
        _check_kubeconfig_secret(actor, organization, str(secret_id))
    try:
        cluster = Cluster.objects.create(
            organization=organization,
            name=name,
            kubeconfig_secret_id=str(secret_id),
            created_by=policy.actor_name(actor),
        )
    except IntegrityError:
        raise ConflictError(f"A cluster named {name!r} already exists.") from None
    audit_cluster(policy.actor_name(actor), "cluster.create", cluster)
    return cluster_check(cluster=cluster)


def clusters_using_secret(*, organization: Organization, secret_id: str) -> list[str]:
    return list(
        Cluster.objects.for_org(organization)
        .filter(kubeconfig_secret_id=secret_id)
        .values_list("name", flat=True)
    )


# --------------------------------------------------------------------------- secret hooks
# Registered with ``secrets_app.hooks`` in ``ClustersConfig.ready()``.


def refuse_deleting_a_kubeconfig(*, organization: Organization, secret_id: str) -> None:
    """A secret that clusters use as their kubeconfig is not deleted (409)."""
    users = clusters_using_secret(organization=organization, secret_id=secret_id)
    if users:
        raise ConflictError(
            f"Clusters {', '.join(users)} use this secret as their kubeconfig; delete them first."
        )


def verify_kubeconfig(text: str) -> None:
    """The ``kubernetes`` type's remote check: the cluster answers its version."""
    try:
        kube.server_version(text)
    except kube.KubeError as exc:
        raise ValueError(f"Kubernetes check failed: {exc.message}") from None


# --------------------------------------------------------------------------- install


def _select(organization: Organization, query: InstallQuery) -> list[SecretIndex]:
    if query.empty:
        raise ValidationError({"query": "Select secrets by type, tags or ids."})
    rows = list(
        secret_selectors.secret_list(
            organization=organization, type=query.type, tags=query.tags, ids=query.ids
        )
    )
    missing = set(query.ids) - {r.secret_id for r in rows}
    if missing and not (query.type or query.tags):
        raise ValidationError(
            {"query.ids": f"Unknown secret ids in this organization: {', '.join(sorted(missing))}"}
        )
    return rows


def require_install(
    standing: policy.Standing,
    cluster: Cluster,
    namespace: str,
    *,
    overwrite: bool = False,
    restarts: list[dict[str, str]] | None = None,
) -> None:
    """What an install asks the policy before anything is read or sent: the namespace must
    be inside the cluster's rule (or the caller an admin), likewise for naming workloads
    to restart there, and replacing Secrets this product does not manage needs admin."""
    if restarts:  # named workloads are checked first: the refusal names that field
        namespaces.require_in(standing, "cluster.restart", cluster, namespace, "workloads")
    namespaces.require_in(standing, "cluster.install", cluster, namespace)
    if overwrite and not policy.allows(standing, "cluster.manage", cluster):
        role = getattr(standing, "role", "")
        raise PermissionDenied(
            "Replacing Secrets this product does not manage (overwrite) needs the admin role "
            f"in {cluster.organization.name}; you are {role}."
        )


def refused_result(row: SecretIndex, namespace: str) -> ItemResult:
    """The per-item answer for a secret whose values the caller may not read."""
    role = secret_values.values_role(row)
    message = (
        f"Installing the values of {row.type} secrets needs the {role} role; nothing was written."
    )
    return ItemResult(row.name, get_type(row.type).sourcing, "failed", namespace, message)


def install(
    *,
    actor: policy.Actor,
    cluster: Cluster,
    namespace: Any,
    query: InstallQuery,
    overwrite: bool = False,
    ttl: int | None = None,
    workload_list: Any = None,
) -> list[ItemResult]:
    """Install the org's secrets selected by ``query`` into ``namespace`` of ``cluster``.

    ``actor`` stands with its effective role (views pass the request's membership); the
    policy decides (``require_install``), and a secret whose values the caller may not read
    (``kubernetes``, ``pkecert`` for a member) is a failed item, never read nor sent. An
    unusable kubeconfig is a ValidationError. ``workload_list`` ({kind, name}) is recorded
    on the batch's installations (None keeps theirs); they restart when a copy changes.
    On an agent cluster the copies are recorded for its agent (``_install_for_agent``)."""
    standing = policy.standing_of(actor, cluster.organization)
    namespace = validate_label(namespace, "namespace")
    if ttl is not None and not 1 <= ttl <= MAX_TTL:
        raise ValidationError({"ttl": f"Must be between 1 and {MAX_TTL} seconds."})
    cleaned = workloads.clean_workloads(workload_list)
    require_install(standing, cluster, namespace, overwrite=overwrite, restarts=cleaned)
    if desired.is_agent(cluster):
        desired.refuse_unavailable(cluster, overwrite=overwrite)
    selected = _select(cluster.organization, query)
    rows = [r for r in selected if secret_values.may_read(standing, r)]
    refused = [refused_result(r, namespace) for r in selected if r not in rows]
    rows, held = holds.hold_new_copies(standing, cluster, namespace, rows, overwrite, ttl, cleaned)
    refused += held
    if not rows:
        # Nothing to send: no namespace is created for nothing.
        return refused
    batch = Batch(cluster, namespace, policy.actor_name(standing), ttl, workloads=cleaned)
    if desired.is_agent(cluster):
        results = _install_for_agent(batch, rows)
    else:
        results = _push(batch, rows, overwrite, standing)
    results += refused
    audit_cluster(
        batch.actor,
        "cluster.install",
        cluster,
        namespace=namespace,
        statuses=dict(Counter(item.status for item in results)),
        ttl=ttl,
        overwrite=overwrite,
    )
    return results


def _push(
    batch: Batch, rows: list[SecretIndex], overwrite: bool, standing: policy.Standing
) -> list[ItemResult]:
    """Write the copies into a kubeconfig cluster (``push.install_rows``)."""
    kubeconfig = cluster_kubeconfig(batch.cluster)
    try:
        return push.install_rows(batch, kubeconfig, rows, overwrite, standing)
    except kube.KubeRefusedError as exc:
        message = f"The kubeconfig of cluster {batch.cluster.name} is refused. {exc.message}"
        raise ValidationError({"cluster": message}) from None


def _install_for_agent(batch: Batch, rows: list[SecretIndex]) -> list[ItemResult]:
    """Record the copies the cluster's scope lets its agent receive and wait for it; the
    others are failed items naming the scope."""
    cluster, namespace = batch.cluster, batch.namespace
    inside = [row for row in rows if desired.receivable(cluster, namespace, row)]
    outside = [desired.out_of_scope(cluster, row, namespace) for row in rows if row not in inside]
    if not inside:
        return outside
    return desired.install(batch, [desired.Wanted(row, row.name) for row in inside]) + outside


def uninstall(
    *, cluster: Cluster, namespace: str, name: str, actor: policy.Actor = SYSTEM_ACTOR
) -> None:
    """Delete one installed Secret from the cluster and forget the installation (on an
    agent cluster: forget it and tell its agent to delete it). Outside the cluster's
    namespace rule only admins (and the product itself) uninstall."""
    item = cluster.installations.filter(namespace=namespace, kube_name=name).first()
    if item is None:
        raise NotFoundError("No such installation on this cluster.")
    namespaces.require_in(actor, "cluster.uninstall", cluster, namespace)
    if desired.is_agent(cluster):
        desired.remove_copies([item])
    else:
        _remove(cluster, item)
    audit_cluster(
        policy.actor_name(actor), "cluster.uninstall", cluster, namespace=namespace, secret=name
    )


def _remove(cluster: Cluster, item: Installation) -> None:
    try:
        with kube.secrets_client(cluster_kubeconfig(cluster)) as client:
            push.remove_copy(client, item)
    except kube.KubeError as exc:
        if exc.unreachable:
            raise UpstreamError(f"Cluster {cluster.name} is unreachable: {exc.message}") from None
        item.last_error = exc.message
        item.save(update_fields=["last_error"])
        raise UpstreamError(f"Cluster {cluster.name} refused: {exc.message}") from None
    item.delete()


def namespace_names(*, cluster: Cluster) -> list[str]:
    """The cluster's namespaces, for suggestions; empty when they cannot be listed (an
    unreachable cluster, credentials without the right to list namespaces). An agent
    cluster is not asked: the namespaces of its installations and syncs."""
    if desired.is_agent(cluster):
        return desired.namespaces(cluster)
    try:
        return kube.namespaces(cluster_kubeconfig(cluster))
    except (kube.KubeError, AppError) as exc:
        logger.info("namespaces of cluster %s: %s", cluster.pk, getattr(exc, "message", exc))
        return []
