"""Putting desired Secrets into the cluster, several at once: create, or replace one that is
ours and differs, never one that is not ours; then restart the named workloads when the
data of a Secret that existed changed.

The calls of a batch run on a small thread pool over the one API client (its connection
pool is as big), so a reconcile of 1,000 objects is not 1,000 round trips in a row."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from pipeline_secrets_agent.cluster import Actual, Cluster, ClusterError, Conflict
from pipeline_secrets_agent.desired import INSTALLED_AT, Desired, SecretBody

log = logging.getLogger(__name__)

WORKERS = 8
T = TypeVar("T")
R = TypeVar("R")


def now() -> str:
    """The time for reports: UTC, ISO 8601 with a Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Outcome:
    """What became of one desired object: ``error`` empty when it is in place; ``written``
    the resourceVersion of the agent's write (empty: nothing written); ``changed`` when
    the data or type of a Secret that existed changed; ``restart_error`` what failed of
    the restarts that followed."""

    desired: Desired
    error: str = ""
    written: str = ""
    changed: bool = False
    restart_error: str = ""
    at: str = ""


def same(existing: Actual, body: SecretBody) -> bool:
    """Whether ``existing`` already is ``body``: type and data equal, and our labels and
    annotations there (other labels may be added by others; the install time alone is
    no reason to write)."""
    if existing.type != body.type or existing.data != body.encoded():
        return False
    if any(existing.labels.get(k) != v for k, v in body.labels.items()):
        return False
    return all(
        existing.annotations.get(k) == v for k, v in body.annotations.items() if k != INSTALLED_AT
    )


def content_equal(existing: Actual, body: SecretBody) -> bool:
    """Type and data equal: what drift is measured on."""
    return existing.type == body.type and existing.data == body.encoded()


def not_ours(body: SecretBody) -> str:
    return (
        f"A Secret {body.namespace}/{body.name} exists that Pipeline Secrets does not "
        "manage for this cluster; it was left untouched."
    )


class Applier:
    """Puts desired objects into ``cluster`` with ``workers`` threads."""

    def __init__(self, cluster: Cluster, workers: int = WORKERS) -> None:
        self.cluster = cluster
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply")

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``function`` over ``items`` on the pool, in order."""
        items = list(items)
        if len(items) <= 1:
            return [function(item) for item in items]
        return list(self.pool.map(function, items))

    def apply(self, items: list[tuple[Desired, Actual | None]], *, look: bool) -> list[Outcome]:
        """Put every desired object; ``look``: read each first (otherwise the Actual given,
        from one list call, is what exists)."""
        return self.map(lambda item: self.put(item[0], item[1], look=look), items)

    def put(self, desired: Desired, existing: Actual | None, *, look: bool = False) -> Outcome:
        body = desired.body
        outcome = Outcome(desired)
        try:
            if look:
                existing = self.cluster.read(body.namespace, body.name)
            for attempt in (1, 2):
                try:
                    self.write(outcome, existing)
                    break
                except Conflict:  # created or changed meanwhile: look again, once
                    if attempt == 2:
                        raise
                    existing = self.cluster.read(body.namespace, body.name)
        except ClusterError as exc:
            outcome.error = exc.message
        if outcome.error:
            log.warning("Secret %s/%s not applied: %s", body.namespace, body.name, outcome.error)
        elif outcome.changed:
            self.restart(outcome)
        outcome.at = now()
        return outcome

    def write(self, outcome: Outcome, existing: Actual | None) -> None:
        body = outcome.desired.body
        if existing is None:
            outcome.written = self.cluster.create(body)
            log.info("Created Secret %s/%s", body.namespace, body.name)
        elif not existing.owned_by(body):
            outcome.error = not_ours(body)
        elif not same(existing, body):
            outcome.changed = not content_equal(existing, body)
            if existing.type != body.type:  # a Secret's type cannot change in place
                self.cluster.delete(body.namespace, body.name, existing.resource_version)
                outcome.written = self.cluster.create(body)
            else:
                outcome.written = self.cluster.replace(body, existing.resource_version)
            log.info("Updated Secret %s/%s", body.namespace, body.name)

    def restart(self, outcome: Outcome) -> None:
        """Restart the workloads told of this object (its data changed)."""
        desired = outcome.desired
        if not desired.restart_for:
            return
        errors = []
        for kind, name in desired.workloads:
            try:
                self.cluster.restart(desired.body.namespace, kind, name, desired.restart_for)
                log.info("Restarted %s %s/%s", kind, desired.body.namespace, name)
            except ClusterError as exc:
                errors.append(exc.message)
        outcome.restart_error = " ".join(errors)

    def delete(self, items: list[Actual]) -> list[str]:
        """Delete these managed Secrets (each at the version listed); the errors."""

        def one(item: Actual) -> str:
            try:
                self.cluster.delete(item.namespace, item.name, item.resource_version)
                log.info("Deleted Secret %s/%s", item.namespace, item.name)
                return ""
            except ClusterError as exc:
                log.warning("Secret %s/%s not deleted: %s", item.namespace, item.name, exc.message)
                return exc.message

        return [error for error in self.map(one, items) if error]

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
