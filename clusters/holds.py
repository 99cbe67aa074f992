"""Installs that wait for approval: a protected secret (``policy.hold``) installed into a
namespace of a cluster where it has no copy yet becomes a change request (``hooks.hold``),
answered as a ``held`` item naming it; copies already there are refreshed as usual."""

from __future__ import annotations

from typing import Any

from clusters.batch import ItemResult
from clusters.models import Cluster
from orgs import policy
from pipeline_secrets.core.errors import Accepted
from secrets_app import hooks
from secrets_app.models import SecretIndex
from secrets_app.types import get_type


def hold_new_copies(
    standing: policy.Standing,
    cluster: Cluster,
    namespace: str,
    rows: list[SecretIndex],
    overwrite: bool,
    ttl: int | None,
    workloads: Any,
) -> tuple[list[SecretIndex], list[ItemResult]]:
    """The rows to install now, and the ``held`` items of those that wait (the request
    records the install's target and options)."""
    target = {"cluster": cluster.pk, "namespace": namespace, "overwrite": overwrite}
    target |= {"ttl": ttl, "workloads": workloads}
    there = set(
        cluster.installations.filter(namespace=namespace).values_list("secret_id", flat=True)
    )
    now: list[SecretIndex] = []
    held: list[ItemResult] = []
    for row in rows:
        reason = None if row.secret_id in there else policy.hold(standing, "cluster.install", row)
        if reason is None:
            now.append(row)
            continue
        change = hooks.HeldChange(
            organization=cluster.organization,
            secret_id=row.secret_id,
            secret_name=row.name,
            actor=standing,
            action="cluster.install",
            audit_as="cluster.install",
            base_version=row.version,
            current={"tags": row.tags},
            document=None,
            reason=reason.reason,
            detail=target,
        )
        try:
            hooks.hold(change)
        except Accepted as exc:
            sourcing = get_type(row.type).sourcing
            held.append(ItemResult(row.name, sourcing, "held", namespace, exc.detail))
    return now, held
