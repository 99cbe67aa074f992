"""Change events for agent clusters: written in the transaction of the change they
announce, read by the agent's long-poll (``GET /api/v1/agent/changes``) in id order.

A payload names objects and never holds a value (docs/agent-protocol.md lists the kinds).
"""

from __future__ import annotations

from typing import Any

from clusters.models import ChangeEvent, Cluster

INSTALLATION = "installation"
REMOVAL = "removal"
SYNC = "sync"
RECONCILE = "reconcile"


def emit(cluster: Cluster | int, kind: str, **payload: Any) -> ChangeEvent:
    """Record one change for the cluster's agent (in the caller's transaction)."""
    cluster_id = cluster if isinstance(cluster, int) else cluster.pk
    return ChangeEvent.objects.create(cluster_id=cluster_id, payload={"kind": kind, **payload})


def emit_many(events: list[tuple[int, dict[str, Any]]]) -> None:
    """Record many changes at once: (cluster id, payload with its ``kind``)."""
    ChangeEvent.objects.bulk_create(
        [ChangeEvent(cluster_id=cluster_id, payload=payload) for cluster_id, payload in events]
    )


def installation_changed(installation_id: int) -> dict[str, Any]:
    return {"kind": INSTALLATION, "installation": installation_id}


def removed(namespace: str, name: str) -> dict[str, Any]:
    return {"kind": REMOVAL, "namespace": namespace, "name": name}


def sync_changed(namespace: str, name: str) -> dict[str, Any]:
    return {"kind": SYNC, "namespace": namespace, "name": name}
