"""Agent-mode clusters: what the server does instead of contacting them.

An install or an uninstall on an agent cluster records the desired state (its
``Installation`` rows) and the change events its agent long-polls for
(``clusters.agent.events``); the agent applies them and reports back
(docs/agent-protocol.md). The install call then waits a bounded time for that report, so
it answers as a push install does, or ``pending``.

Invariants:
- the server never reads a kubeconfig for an agent cluster nor opens a connection to it;
- rows and their events are written in one transaction: both or neither;
- a secret the cluster's scope does not let its agent receive is never recorded for it;
- only the copies the server can describe without values are recorded: no merge into a
  Secret, no overwrite of one this product does not manage, no literal texts in a mapping
  (the server keeps no value outside Vault, and the agent keeps nothing of its own);
- the wait happens outside any transaction and only reads the rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from clusters import mapping
from clusters.agent import events, scope
from clusters.batch import INSTALL_COLUMNS, Batch, Done, ItemResult, installed_keys
from clusters.models import Cluster, Installation, SecretSync
from orgs import policy
from secrets_app.models import SecretIndex
from secrets_app.types import get_type

# How often the install call reads its rows while it waits for the agent's report.
POLL_SECONDS = 0.15
PENDING = Installation.Status.PENDING.value
INSTALLED = Installation.Status.INSTALLED.value
# The error of a cluster path that would connect to an agent cluster (none should).
NO_KUBECONFIG = (
    "Cluster {name} is an agent cluster: the server holds no kubeconfig for it and never "
    "connects to it; its agent applies the changes."
)


def is_agent(cluster: Cluster) -> bool:
    return cluster.mode == Cluster.Mode.AGENT


def refuse_unavailable(cluster: Cluster, *, overwrite: bool = False, merge: bool = False) -> None:
    """A ValidationError on the field asking for what an agent cluster does not do."""
    if overwrite:
        raise ValidationError(
            {
                "overwrite": f"Cluster {cluster.name} is an agent cluster: its agent never "
                "replaces Secrets this product does not manage. Install under another name, "
                "or remove that Secret from the cluster first."
            }
        )
    if merge:
        raise ValidationError(
            {
                "merge": f"Cluster {cluster.name} is an agent cluster: merging into an "
                "existing Secret is not available there. Install it as its own Secret."
            }
        )


def refuse_literals(cluster: Cluster, spec: mapping.Spec | None) -> None:
    """A mapping's ``value`` items are kept only in the cluster: an agent has none to keep."""
    errors = {
        f"spec.{key}": f"Cluster {cluster.name} is an agent cluster: literal values are not "
        "available there. Store the text in a secret and map it with source."
        for key, item in (spec or {}).items()
        if "value" in item
    }
    if errors:
        raise ValidationError(errors)


def receivable(cluster: Cluster, namespace: str, row: SecretIndex) -> bool:
    """Whether the cluster's agent may receive ``row``'s values in ``namespace`` (the
    policy answers for the agent's standing)."""
    return policy.allows(scope.standing(cluster, namespace), "secret.values.read", row)


def scope_message(cluster: Cluster, row: SecretIndex, namespace: str) -> str:
    return (
        f"The secret {row.name} is outside the scope of cluster {cluster.name} for namespace "
        f"{namespace}: its agent may not receive it. Ask an admin to add the secret (by name "
        "or tag) and the namespace to the cluster's scope; nothing was recorded."
    )


def out_of_scope(cluster: Cluster, row: SecretIndex, namespace: str) -> ItemResult:
    sourcing = get_type(row.type).sourcing
    message = scope_message(cluster, row, namespace)
    return ItemResult(row.name, sourcing, "failed", namespace, message)


def data_keys(row: SecretIndex, spec: mapping.Spec | None) -> list[str]:
    """The data keys the copy gets: the mapping's, or those of the secret's type."""
    return sorted(spec) if spec is not None else installed_keys(row)


@dataclass
class Wanted:
    """One copy asked for: the secret, the Secret's name, the mapping (without literals)."""

    row: SecretIndex
    name: str
    spec: mapping.Spec | None = None


@dataclass
class Recorded:
    """A copy as recorded: its row, and whether it was new, changed or already applied."""

    wanted: Wanted
    pk: int
    existed: bool
    unchanged: bool


def _same(
    existing: Installation | None, wanted: Wanted, workloads: list[dict[str, str]] | None
) -> bool:
    """Whether the recorded copy is already applied as asked (nothing for the agent)."""
    return (
        existing is not None
        and existing.status == Installation.Status.INSTALLED
        and existing.secret_id == wanted.row.secret_id
        and existing.version == wanted.row.version
        and existing.spec == mapping.stored(wanted.spec)
        and not existing.merged
        and (workloads is None or existing.workloads == workloads)
    )


def _installation(batch: Batch, wanted: Wanted, status: str) -> Installation:
    keys = data_keys(wanted.row, wanted.spec)
    obj = batch.installation(Done(wanted.row, timezone.now(), wanted.name, keys, wanted.spec))
    obj.status = status
    return obj


def record(batch: Batch, wanted: list[Wanted]) -> list[Recorded]:
    """Create or update one Installation per wanted copy, ``pending`` unless already
    applied as asked, and one ``installation`` event per pending one: in one transaction.
    ``batch`` says where, for whom, the ttl and the workloads (None keeps those recorded)."""
    scoped = Installation.objects.filter(cluster=batch.cluster, namespace=batch.namespace)
    names = [item.name for item in wanted]
    with transaction.atomic():
        existing = {i.kube_name: i for i in scoped.filter(kube_name__in=names)}
        same = {
            item.name for item in wanted if _same(existing.get(item.name), item, batch.workloads)
        }
        statuses = {item.name: INSTALLED if item.name in same else PENDING for item in wanted}
        Installation.objects.bulk_create(
            [_installation(batch, item, statuses[item.name]) for item in wanted],
            update_conflicts=True,
            unique_fields=["cluster", "namespace", "kube_name"],
            update_fields=[
                *INSTALL_COLUMNS,
                *(["workloads"] if batch.workloads is not None else []),
            ],
        )
        ids = dict(scoped.filter(kube_name__in=names).values_list("kube_name", "pk"))
        events.emit_many(
            [
                (batch.cluster.pk, events.installation_changed(ids[item.name]))
                for item in wanted
                if item.name not in same
            ]
        )
    return [
        Recorded(item, ids[item.name], item.name in existing, item.name in same) for item in wanted
    ]


def wait_seconds() -> float:
    """How long an install waits for the agent: none inside a transaction (the agent could
    not see the rows before it ends)."""
    if connection.in_atomic_block:
        return 0.0
    return float(settings.AGENT_INSTALL_WAIT_SECONDS)


def wait_applied(recorded: list[Recorded], seconds: float) -> dict[int, tuple[str, str]]:
    """(status, error) of each recorded row once none is pending, or after ``seconds``;
    one query per look. A row gone meanwhile (uninstalled) is absent."""
    ids = [item.pk for item in recorded if not item.unchanged]
    if not ids:
        return {}
    deadline = time.monotonic() + seconds
    while True:
        found = {
            pk: (status, error)
            for pk, status, error in Installation.objects.filter(pk__in=ids).values_list(
                "pk", "status", "last_error"
            )
        }
        left = deadline - time.monotonic()
        if left <= 0 or all(status != PENDING for status, _ in found.values()):
            return found
        time.sleep(min(POLL_SECONDS, left))


def answers(
    recorded: list[Recorded], found: dict[int, tuple[str, str]], seconds: float, namespace: str
) -> list[ItemResult]:
    """The per-item answer of an install, in the words of a push install, or ``pending``."""
    results = []
    for item in recorded:
        row = item.wanted.row
        sourcing = get_type(row.type).sourcing
        status, error = found.get(item.pk, ("gone", ""))
        if item.unchanged:
            status, error = "unchanged", ""
        elif status == Installation.Status.INSTALLED:
            status, error = ("updated" if item.existed else "installed"), ""
        elif status == Installation.Status.FAILED:
            status, error = "failed", error or "The cluster's agent could not apply it."
        elif status == "gone":
            status, error = "failed", "Uninstalled before the cluster's agent applied it."
        else:
            error = (
                f"Not applied by the cluster's agent within {seconds:g} s; it applies it "
                "when it next connects."
            )
        results.append(ItemResult(row.name, sourcing, status, namespace, error))
    return results


def install(batch: Batch, wanted: list[Wanted]) -> list[ItemResult]:
    """Record the copies (``record``), then wait for the agent's report (``wait_applied``)
    outside any transaction; the per-item answers."""
    recorded = record(batch, wanted)
    seconds = wait_seconds()
    found = wait_applied(recorded, seconds)
    return answers(recorded, found, seconds, batch.namespace)


def remove_copies(items: list[Installation]) -> None:
    """Forget agent copies and tell their agents to delete them, in one transaction."""
    if not items:
        return
    with transaction.atomic():
        events.emit_many(
            [(item.cluster_id, events.removed(item.namespace, item.kube_name)) for item in items]
        )
        Installation.objects.filter(pk__in=[item.pk for item in items]).delete()


def check(cluster: Cluster) -> Cluster:
    """An agent cluster is reachable when its agent was heard from within two heartbeats."""
    now = timezone.now()
    window = 2 * settings.AGENT_HEARTBEAT_SECONDS
    seen = cluster.agent_seen_at
    cluster.reachable = seen is not None and now - seen <= timedelta(seconds=window)
    if cluster.reachable:
        cluster.last_error = ""
    elif seen is None:
        cluster.last_error = "Its agent has not connected yet."
    else:
        cluster.last_error = (
            f"Its agent was last heard from at {seen:%Y-%m-%d %H:%M:%S} UTC, more than "
            f"{window} s ago."
        )
    cluster.checked_at = now
    cluster.save(update_fields=["reachable", "last_error", "checked_at"])
    return cluster


def namespaces(cluster: Cluster) -> list[str]:
    """Namespace suggestions for an agent cluster: those of its installations and syncs."""
    installed = Installation.objects.filter(cluster=cluster).order_by().values_list("namespace")
    synced = SecretSync.objects.filter(cluster=cluster).order_by().values_list("namespace")
    return sorted({name for (name,) in installed.union(synced)})
