"""Installing ONE stored secret as a named Kubernetes Secret, with an optional key mapping
(the original product's ``POST``/``PATCH /clusters/{id}/secrets/{secretName}``).

Invariants (besides those of ``clusters.services``):
- everything that can be checked without the cluster is checked first (names, the mapping,
  the source secret and its fields): a refused request creates no namespace and no Secret;
- ``install_one`` creates the Secret, or replaces one this product manages for the org; a
  Secret of that name it does not manage is a 409, whatever the role;
- ``merge_one`` writes the keys into an existing Secret and keeps its other keys; a missing
  Secret is a 404 (as in the original, nothing is created); merging into a Secret this
  product does not manage needs the admin role, and that Secret keeps its labels, so it
  never becomes one this product would replace or delete;
- the installation keeps the mapping (without literal texts, see ``clusters.mapping``), so a
  re-sync after the secret changes reproduces the same keys;
- on an agent cluster the copy is recorded for its agent (``clusters.agent.desired``), which
  must be allowed to receive the secret; no merge there, and no literal texts.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

from clusters import kube, mapping, workloads
from clusters.agent import desired
from clusters.batch import Batch, is_managed
from clusters.models import Cluster, Installation
from clusters.push import open_namespace
from clusters.services import audit_cluster, cluster_kubeconfig, require_install, validate_label
from orgs import policy
from orgs.models import Membership, Role
from pipeline_secrets.core.errors import ConflictError, NotFoundError, UpstreamError
from secrets_app import selectors as secret_selectors
from secrets_app import values as secret_values
from secrets_app.models import SecretIndex
from secrets_app.types import get_type
from secrets_app.validation import secret_id_for

# A Secret's name: a DNS-1123 subdomain.
DNS1123_SUBDOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


# What ``_prepare`` checked: the Secret's name, the namespace, the source, its values, the
# mapping.
Prepared = tuple[str, str, SecretIndex, dict[str, str], mapping.Spec | None]


def _kube_name(value: Any) -> str:
    if not isinstance(value, str) or not DNS1123_SUBDOMAIN.fullmatch(value):
        raise ValidationError(
            {
                "secretName": "Must be a DNS-1123 subdomain: lowercase letters, digits, '-' "
                "and '.', up to 253 characters."
            }
        )
    return value


def _source(cluster: Cluster, name: str) -> SecretIndex:
    """The stored secret called ``name``; named explicitly, a ``banzai:hidden`` one too."""
    try:
        return secret_selectors.secret_get(
            organization=cluster.organization, secret_id=secret_id_for(name)
        )
    except NotFoundError:
        raise NotFoundError(f"No secret named {name} in this organization.") from None


def _prepare(
    standing: policy.Standing,
    cluster: Cluster,
    request: tuple[Any, Any, Any, Any],
    restart: list[dict[str, str]] | None,
) -> Prepared:
    """Check everything that needs no cluster, the policy first: the namespace (and naming
    workloads) inside the cluster's rule or admin, and the source's values readable by the
    caller (the values of a ``kubernetes`` or ``pkecert`` secret need admin). The source
    row, its values and the mapping."""
    name, namespace, source, spec = request
    name = _kube_name(name)
    namespace = validate_label(namespace, "namespace")
    require_install(standing, cluster, namespace, restarts=restart)
    cleaned = mapping.clean_spec(spec)
    if source is not None and (not isinstance(source, str) or not source):
        raise ValidationError({"sourceSecretName": "Must be the name of a secret."})
    row = _source(cluster, source or name)
    values = secret_values.read_values(standing=standing, row=row, purpose="install")
    # Builds the data once here so a mapping naming a missing field is refused up front.
    mapping.build(get_type(row.type), values, cleaned)
    return name, namespace, row, values, cleaned


def install_one(
    *,
    actor: policy.Actor,
    cluster: Cluster,
    name: Any,
    namespace: Any,
    source: Any = None,
    spec: Any = None,
    merge: bool = False,
    workload_list: Any = None,
) -> tuple[Installation, str]:
    """Install the org's secret ``source`` (default: ``name``) as the Secret ``name`` in
    ``namespace`` (``merge``: into the existing one) once the policy allowed ``actor``
    (``_prepare``); ``workload_list`` replaces the installation's workloads if given."""
    standing = policy.standing_of(actor, cluster.organization)
    restart = workloads.clean_workloads(workload_list)
    if desired.is_agent(cluster):
        desired.refuse_unavailable(cluster, merge=merge)
    prepared = _prepare(standing, cluster, (name, namespace, source, spec), restart)
    if desired.is_agent(cluster):
        return _install_for_agent(standing, cluster, prepared, restart)
    name, namespace, row, values, cleaned = prepared
    role = standing.role if isinstance(standing, Membership) else Role.ADMIN
    kubeconfig = cluster_kubeconfig(cluster)
    batch = Batch(cluster, namespace, policy.actor_name(standing), None, workloads=restart)
    try:
        with kube.secrets_client(kubeconfig) as client:
            if not merge:
                open_namespace(cluster, client, namespace)
            status = _write(client, batch, row, values, name, cleaned, merge, role)
    except kube.KubeRefusedError as exc:
        message = f"The kubeconfig of cluster {cluster.name} is refused. {exc.message}"
        raise ValidationError({"cluster": message}) from None
    except kube.KubeError as exc:
        batch.failed.append((name, exc.message))
        batch.record()
        if exc.unreachable:
            raise UpstreamError(f"Cluster {cluster.name} is unreachable: {exc.message}") from None
        raise UpstreamError(f"Cluster {cluster.name} refused: {exc.message}") from None
    batch.record()
    workloads.restart_changed(batch, kubeconfig)
    _audit(batch.actor, cluster, prepared, status, merge=merge)
    item = Installation.objects.get(cluster=cluster, namespace=namespace, kube_name=name)
    return item, status


def _audit(actor: str, cluster: Cluster, prepared: Prepared, status: str, *, merge: bool) -> None:
    name, namespace, row, _values, cleaned = prepared
    audit_cluster(
        actor,
        "cluster.merge" if merge else "cluster.install",
        cluster,
        namespace=namespace,
        secret=name,
        source=row.name,
        version=row.version,
        fields=sorted(cleaned) if cleaned else None,
        statuses={status: 1},
    )


def _install_for_agent(
    standing: policy.Standing,
    cluster: Cluster,
    prepared: Prepared,
    restart: list[dict[str, str]] | None,
) -> tuple[Installation, str]:
    """Record the copy for the cluster's agent and wait for its report; the row and the
    status (``pending`` when the agent has not applied it within the wait). A copy the
    agent reported failed is an UpstreamError with its error."""
    name, namespace, row, _values, cleaned = prepared
    desired.refuse_literals(cluster, cleaned)
    if not desired.receivable(cluster, namespace, row):
        raise ValidationError({"sourceSecretName": desired.scope_message(cluster, row, namespace)})
    actor = policy.actor_name(standing)
    batch = Batch(cluster, namespace, actor, None, workloads=restart)
    result = desired.install(batch, [desired.Wanted(row, name, cleaned)])[0]
    _audit(actor, cluster, prepared, result.status, merge=False)
    if result.status == "failed":
        raise UpstreamError(
            f"The agent of cluster {cluster.name} could not apply {name}: {result.error}"
        )
    item = Installation.objects.get(cluster=cluster, namespace=namespace, kube_name=name)
    return item, result.status


def _write(
    client: kube.SecretsClient,
    batch: Batch,
    row: SecretIndex,
    values: dict[str, str],
    name: str,
    spec: mapping.Spec | None,
    merge: bool,
    role: str,
) -> str:
    namespace = batch.namespace
    existing = client.get(namespace, name)
    ours = existing is not None and is_managed(existing, batch.cluster.organization_id)
    if not merge:
        if existing is not None and not ours:
            raise ConflictError(
                f"A Secret named {name} that this product does not manage exists in "
                f"{namespace}; merge into it (PATCH) or choose another name."
            )
        listed = {name: existing} if existing is not None else {}
        return batch.write(
            client, row, values, name=name, spec=spec, overwrite=False, listed=listed
        )
    if existing is None:
        raise NotFoundError(f"No Secret named {name} in namespace {namespace} to merge into.")
    if not ours and not Role.allows(role, Role.ADMIN):
        raise PermissionDenied(
            "Merging into a Secret this product does not manage needs the admin role in "
            f"{batch.cluster.organization.name}; you are {role}."
        )
    return batch.write(
        client,
        row,
        values,
        name=name,
        spec=spec,
        overwrite=False,
        listed={name: existing},
        merged_keys=[],
    )
