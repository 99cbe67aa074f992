"""Writing into a kubeconfig-mode cluster: the server connects with the cluster's
kubeconfig and writes the Secrets itself (an agent-mode cluster is never contacted: see
``clusters.agent.desired``).

Threads here touch only Vault and Kubernetes; the database is written once per batch.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from clusters import kube, workloads
from clusters.batch import KUBE_WRITERS, Batch, ItemResult, unmerge, values_or_error
from clusters.models import Cluster, Installation
from orgs import policy
from pipeline_secrets.core.errors import UpstreamError
from secrets_app import values as secret_values
from secrets_app.models import SecretIndex

logger = logging.getLogger(__name__)


def open_namespace(cluster: Cluster, client: kube.SecretsClient, namespace: str) -> None:
    try:
        client.ensure_namespace(namespace)
    except kube.KubeRefusedError:
        raise
    except kube.KubeError as exc:
        if exc.unreachable:
            raise UpstreamError(f"Cluster {cluster.name} is unreachable: {exc.message}") from None
        # Anything else (say, no right to create namespaces) is reported per item below.
        logger.info("namespace %s on cluster %s: %s", namespace, cluster.pk, exc.message)


def install_rows(
    batch: Batch,
    kubeconfig: str,
    rows: list[SecretIndex],
    overwrite: bool,
    standing: policy.Standing,
) -> list[ItemResult]:
    """Write the Secrets of ``rows`` into the batch's namespace, record them and restart
    the workloads of the copies whose data changed."""
    namespace = batch.namespace
    # Vault reads run ahead in one pool, from the start: they overlap the kubeconfig check
    # and the namespace set-up (values stay in memory; a refused cluster discards them).
    # Kubernetes writes go out a few at a time in another pool, over the connections of one
    # client. Threads touch only Vault and Kubernetes; the database is written once, below.
    readers = ThreadPoolExecutor(max_workers=secret_values.READERS)
    try:
        values = readers.map(lambda row: values_or_error(standing, row), rows)
        with (
            kube.secrets_client(kubeconfig) as client,
            ThreadPoolExecutor(max_workers=KUBE_WRITERS) as writers,
        ):
            open_namespace(batch.cluster, client, namespace)
            try:
                listed: dict[str, kube.SecretObject] | None = client.list(namespace)
            except kube.KubeError:
                listed = None  # e.g. credentials without "list": read each item instead
            futures = [
                writers.submit(
                    batch.put, client, row, row_values, overwrite=overwrite, listed=listed
                )
                for row, row_values in zip(rows, values, strict=True)
            ]
            results = [future.result() for future in futures]
    finally:
        readers.shutdown(wait=True, cancel_futures=True)
    batch.record()
    workloads.restart_changed(batch, kubeconfig)
    return results


def remove_copy(client: kube.SecretsClient, item: Installation) -> None:
    """Delete an installed Secret, or take out only the keys a merge wrote into one."""
    if item.merged:
        unmerge(
            client, item.namespace, item.kube_name, list(item.keys), item.cluster.organization_id
        )
    else:
        client.delete(item.namespace, item.kube_name)
