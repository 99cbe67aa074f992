"""The desired state of an agent cluster, with values: what ``POST /api/v1/agent/render``
answers (docs/agent-protocol.md).

Values are read through the values service as the cluster's agent in the namespace they
go to (``orgs.policy.Agent``): the policy decides what the agent may receive; a refused
secret is never read. Every value sent is audited under the cluster's identity
(``secret.read``, purpose ``agent``), in the database before the answer leaves.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit import services as audit
from clusters import workloads
from clusters.agent import scope
from clusters.batch import MANAGED_BY, ORG_LABEL, kube_object
from clusters.kube import SecretObject
from clusters.models import Cluster, Installation
from pipeline_secrets.core.errors import NotFoundError, VaultUnavailableError
from secrets_app import values as secret_values
from secrets_app.models import SecretIndex

CLUSTER_LABEL = "secrets.pipeline.io/cluster-id"
PURPOSE = "agent"


@dataclass
class Reads:
    """The values read for one render, and the audit events that record them."""

    cluster: Cluster
    events: list[Any] = field(default_factory=list)

    def many(self, wanted: list[tuple[str, SecretIndex]]) -> list[dict[str, Any] | Exception]:
        """The values of each (namespace, row), read in parallel as the cluster's agent in
        that namespace; a refusal or a failure is returned in its place."""
        if not wanted:
            return []
        with ThreadPoolExecutor(max_workers=secret_values.READERS) as pool:
            results = list(pool.map(lambda pair: self.one(*pair), wanted))
        for (namespace, row), result in zip(wanted, results, strict=True):
            if not isinstance(result, Exception):
                self.events.append(self.audit_event(row, namespace))
        return results

    def one(self, namespace: str, row: SecretIndex) -> dict[str, Any] | Exception:
        standing = scope.standing(self.cluster, namespace)
        try:
            return secret_values.read_values(standing=standing, row=row, purpose=PURPOSE)
        except (NotFoundError, VaultUnavailableError, PermissionDenied) as exc:
            return exc

    def audit_event(self, row: SecretIndex, namespace: str) -> Any:
        return audit.event(
            actor=f"cluster:{self.cluster.name}",
            action="secret.read",
            organization=self.cluster.organization,
            target_type="secret",
            target_id=row.secret_id,
            target_name=row.name,
            version=row.version,
            purpose=PURPOSE,
            namespace=namespace,
        )

    def record(self) -> None:
        audit.record_many(self.events)
        self.events = []


def managed_labels(cluster: Cluster) -> dict[str, str]:
    """The labels of a Secret an agent manages: a push install's, and the cluster's id."""
    return {
        MANAGED_BY[0]: MANAGED_BY[1],
        ORG_LABEL: str(cluster.organization_id),
        CLUSTER_LABEL: str(cluster.pk),
    }


def labelled(obj: SecretObject, cluster: Cluster) -> dict[str, Any]:
    """The protocol's form of a desired Secret, values as text."""
    return {
        "name": obj.name,
        "type": obj.type,
        "data": obj.data,
        "labels": {**obj.labels, **managed_labels(cluster)},
        "annotations": obj.annotations,
    }


def refusal(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return str(getattr(exc, "message", None) or exc)


# --------------------------------------------------------------------------- installations


@dataclass
class Page:
    """A page of ``"all"``: the installations with an id above ``after``, at most ``limit``
    (None: every one)."""

    after: int = 0
    limit: int | None = None
    more: bool = False


def installations(
    cluster: Cluster, wanted: list[int] | str, reads: Reads, page: Page | None = None
) -> list[dict[str, Any]]:
    """The rendered installations of ``cluster`` (``"all"``, or a ``page`` of them, or the
    ids asked for); an id that is no installation of this cluster is ``absent``. A copy the
    agent may no longer receive (its scope changed) is ``absent`` too, and its row records
    why. ``page.more`` tells whether a page was cut short."""
    page = page or Page()
    items = Installation.objects.filter(cluster=cluster).order_by("pk")
    if wanted != "all":
        items = items.filter(pk__in=list(wanted))
    elif page.limit is not None:
        items = items.filter(pk__gt=page.after)[: page.limit + 1]
    found = list(items)
    if page.limit is not None and len(found) > page.limit:
        found, page.more = found[: page.limit], True
    if found:
        page.after = found[-1].pk
    rows = {
        row.secret_id: row
        for row in SecretIndex.objects.for_org(cluster.organization).filter(
            secret_id__in={item.secret_id for item in found}
        )
    }
    present = [item for item in found if item.secret_id in rows]
    values = reads.many([(item.namespace, rows[item.secret_id]) for item in present])
    now = timezone.now()
    answer = [
        _one(cluster, item, rows[item.secret_id], got, now)
        for item, got in zip(present, values, strict=True)
    ]
    known = {item.pk for item in present}
    if wanted != "all":
        answer += [{"id": pk, "state": "absent"} for pk in wanted if pk not in known]
    return answer


def _one(
    cluster: Cluster, item: Installation, row: SecretIndex, got: Any, now: Any
) -> dict[str, Any]:
    try:
        if isinstance(got, Exception):
            raise got
        obj = kube_object(row, got, now, name=item.kube_name, spec=item.spec, literals={})
    except (PermissionDenied, NotFoundError, VaultUnavailableError, ValidationError) as exc:
        Installation.objects.filter(pk=item.pk).update(
            status=Installation.Status.FAILED, last_error=refusal(exc)[:2000]
        )
        return {"id": item.pk, "state": "absent"}
    return {
        "id": item.pk,
        "namespace": item.namespace,
        "name": item.kube_name,
        "version": row.version,
        "state": "present",
        "secret": labelled(obj, cluster),
        "workloads": list(item.workloads or []),
        "restartFor": workloads.restart_hash(row.secret_id, row.version),
    }
