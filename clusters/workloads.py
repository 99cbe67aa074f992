"""Workloads told of a changed Secret: an installation may name Deployments, StatefulSets and
DaemonSets of its namespace; when the data of its installed copy changes, each gets the
annotation ``secrets.pipeline.io/restartedFor`` on its pod template (the way ``kubectl
rollout restart`` sets ``kubectl.kubernetes.io/restartedAt``), so Kubernetes rolls its pods.

Invariants:
- a restart happens only when the data (or type) of a Secret that existed changed: a write
  with identical values, a tag change or another secret's write restarts nothing;
- the annotation is the SHA-256 of the secret id and version, so it names the change and
  holds nothing of the values;
- every restart is audited (``cluster.restart``) and recorded on its installation
  (``restarted_at``, ``restarted_for``, ``restart_error``); a failed one is not retried by
  itself, the next change restarts again.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from audit import services as audit
from clusters import kube
from clusters.batch import Batch
from clusters.models import Installation

RESTART_ANNOTATION = "secrets.pipeline.io/restartedFor"
MAX_WORKLOADS = 20
WORKLOAD_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


def clean_workloads(value: Any) -> list[dict[str, str]] | None:
    """The ``workloads`` of an install request as stored; None when not given (the recorded
    ones are kept). ValidationError naming ``workloads.<n>.kind`` / ``.name`` otherwise."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValidationError({"workloads": "Must be a list of {kind, name}."})
    if len(value) > MAX_WORKLOADS:
        raise ValidationError({"workloads": f"At most {MAX_WORKLOADS} workloads."})
    errors: dict[str, str] = {}
    cleaned: list[dict[str, str]] = []
    for index, item in enumerate(value):
        kind = item.get("kind") if isinstance(item, dict) else None
        name = item.get("name") if isinstance(item, dict) else None
        if kind not in kube.WORKLOAD_KINDS:
            errors[f"workloads.{index}.kind"] = f"Must be one of {', '.join(kube.WORKLOAD_KINDS)}."
        if not isinstance(name, str) or not WORKLOAD_NAME.fullmatch(name):
            errors[f"workloads.{index}.name"] = "Must be a DNS-1123 subdomain."
        elif {"kind": str(kind), "name": name} in cleaned:
            errors[f"workloads.{index}.name"] = "Named twice."
        if not errors:
            cleaned.append({"kind": str(kind), "name": str(name)})
    if errors:
        raise ValidationError(errors)
    return cleaned


def restart_hash(secret_id: str, version: int) -> str:
    return hashlib.sha256(f"{secret_id}:{version}".encode()).hexdigest()


def restart_changed(batch: Batch, kubeconfig: str) -> None:
    """After ``batch.record()``: restart the workloads of each installation whose Secret's data
    the batch changed. Failures are recorded on the installation, never raised."""
    changed = {item.name: item for item in batch.done if item.changed}
    if not changed:
        return
    items = list(
        Installation.objects.filter(
            cluster=batch.cluster, namespace=batch.namespace, kube_name__in=list(changed)
        ).exclude(workloads=[])
    )
    if not items:
        return
    try:
        with kube.secrets_client(kubeconfig) as client:
            for item in items:
                done = changed[item.kube_name]
                _restart(client, batch, item, restart_hash(done.row.secret_id, done.row.version))
    except kube.KubeError as exc:  # the kubeconfig was refused: nothing was sent
        Installation.objects.filter(pk__in=[i.pk for i in items]).update(restart_error=exc.message)


def _restart(client: kube.SecretsClient, batch: Batch, item: Installation, digest: str) -> None:
    errors: list[str] = []
    restarted: list[str] = []
    for workload in item.workloads:
        try:
            client.annotate_pod_template(
                item.namespace, workload["kind"], workload["name"], {RESTART_ANNOTATION: digest}
            )
            restarted.append(f"{workload['kind']}/{workload['name']}")
        except kube.KubeError as exc:
            errors.append(exc.message)
    item.restarted_at = timezone.now()
    item.restarted_for = digest
    item.restart_error = " ".join(errors)
    item.save(update_fields=["restarted_at", "restarted_for", "restart_error"])
    audit.record(
        actor=batch.actor,
        action="cluster.restart",
        organization=batch.cluster.organization,
        target_type="cluster",
        target_id=batch.cluster.pk,
        target_name=batch.cluster.name,
        namespace=item.namespace,
        secret=item.kube_name,
        version=item.version,
        workloads=restarted,
        statuses={"restarted": len(restarted), "failed": len(errors)},
    )
