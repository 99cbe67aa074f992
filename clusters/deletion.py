"""Deleting a cluster: the row goes at once, its installed copies are removed by the task
worker (``clusters.tasks.remove_cluster_copies``), so the delete never waits on the
cluster. The kubeconfig secret stays (the worker reaches the cluster through it), and may
then be deleted. An agent-mode cluster is never contacted: its row goes with its copies'
rows and change events, and its agent's token stops working (401).
"""

from __future__ import annotations

from django.db import transaction

from clusters import tasks
from clusters.agent import desired
from clusters.models import Cluster
from clusters.services import audit_cluster
from orgs import policy


def cluster_delete(*, actor: policy.Actor, cluster: Cluster) -> None:
    """Forget the cluster and queue the removal of its copies (from a kubeconfig cluster),
    in one transaction."""
    policy.require(policy.standing_of(actor, cluster.organization), "cluster.manage", cluster)
    pushed = (
        cluster.installations.none() if desired.is_agent(cluster) else cluster.installations.all()
    )
    copies = [
        {
            "namespace": item.namespace,
            "name": item.kube_name,
            "merged": item.merged,
            "keys": item.keys,
        }
        for item in pushed.only("namespace", "kube_name", "merged", "keys")
    ]
    with transaction.atomic():
        if copies:
            tasks.remove_cluster_copies.enqueue(
                organization_id=cluster.organization_id,
                name=cluster.name,
                kubeconfig_secret_id=cluster.kubeconfig_secret_id,
                copies=copies,
            )
        audit_cluster(policy.actor_name(actor), "cluster.delete", cluster)
        cluster.delete()
