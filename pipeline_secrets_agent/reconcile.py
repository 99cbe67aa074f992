"""Desired against actual: the full reconcile, the application of the server's change
events and of SecretSync changes, and the repair of drift.

One thread (the agent's worker) calls a Reconciler, so its state needs no lock; the
Applier's pool only runs the cluster calls of one batch. The state is what the server last
rendered (by object key, by installation id, by SecretSync) and the resourceVersions of
the agent's own writes, which tell its own watch events from someone else's edits."""

from __future__ import annotations

import functools
import itertools
import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pipeline_secrets_agent import reports
from pipeline_secrets_agent.apply import Applier, Outcome, content_equal
from pipeline_secrets_agent.cluster import Actual, Cluster, ClusterError, actual
from pipeline_secrets_agent.desired import (
    CLUSTER_LABEL,
    MANAGED_BY,
    Desired,
    Key,
    Rendered,
)
from pipeline_secrets_agent.server import Server

log = logging.getLogger(__name__)

# How many of its own writes per object the agent remembers (a watch lags by a few).
WRITES_KEPT = 8
# Installations per page of a full reconcile's render; the first page is smaller, so that
# the first writes start sooner.
FIRST_PAGE = 100
PAGE = 250


@dataclass
class SyncRecord:
    """A SecretSync as last sent to the server (``spec``), its status as last seen or
    written, and the Secret it fills (``target``)."""

    spec: Any = None
    status: dict[str, Any] = field(default_factory=dict)
    target: Key | None = None


@dataclass
class State:
    objects: dict[Key, Desired] = field(default_factory=dict)
    installations: dict[int, Key] = field(default_factory=dict)
    syncs: dict[Key, SyncRecord] = field(default_factory=dict)
    written: dict[Key, deque[str]] = field(default_factory=dict)
    cluster_id: str | None = None
    reconciled: bool = False


def sync_key(obj: dict[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def sync_request(obj: dict[str, Any]) -> dict[str, Any]:
    """A SecretSync as the render call takes it."""
    namespace, name = sync_key(obj)
    return {"namespace": namespace, "name": name, "spec": obj.get("spec") or {}}


def render_pages(server: Server, syncs: list[dict[str, Any]]) -> Iterator[Rendered]:
    """Every installation (and the SecretSyncs, with the first page), page by page; the
    next page is asked for while the caller handles this one."""
    with ThreadPoolExecutor(max_workers=1) as ahead:
        ask = functools.partial(server.render, installations="all")
        coming = ahead.submit(ask, syncs=syncs, all_syncs=True, page=(0, FIRST_PAGE))
        while True:
            page = coming.result()
            if page.more:
                coming = ahead.submit(ask, syncs=[], page=(page.after, PAGE))
            yield page
            if not page.more:
                return


class Reconciler:
    """Keeps ``cluster`` equal to what ``server`` renders for it."""

    def __init__(self, server: Server, cluster: Cluster, applier: Applier | None = None) -> None:
        self.server = server
        self.cluster = cluster
        self.applier = applier or Applier(cluster)
        self.state = State()

    # -- full reconcile --------------------------------------------------------------------

    def full(self) -> int:
        """Render everything (installations and every SecretSync), apply it, delete the
        managed Secrets of this cluster nobody wants; the cursor to continue from.

        Installations come in pages: the next page renders on the server while this one
        is applied. The cursor is the first page's, so no change made meanwhile is missed."""
        listed = self.cluster.all_syncs()
        pages = render_pages(self.server, [sync_request(obj) for obj in listed])
        rendered = next(pages)
        self.learn(rendered)
        existing = self.cluster.list_managed(self.state.cluster_id)
        written = self.state.written
        self.state = State(cluster_id=self.state.cluster_id, written=written, reconciled=True)
        for obj in listed:
            record = self.state.syncs[sync_key(obj)] = SyncRecord(spec=obj.get("spec"))
            record.status = obj.get("status") or {}
        outcomes, last = self.apply_pages(itertools.chain([rendered], pages), existing)
        self.remember(outcomes)
        stale = [item for key, item in existing.items() if key not in self.state.objects]
        if self.state.cluster_id:  # not known: nothing was ever rendered, nothing is ours
            self.applier.delete(stale)
        self.finish(rendered, outcomes, unreported=last)
        log.info(
            "Full reconcile: %d desired, %d written, %d failed, %d deleted",
            len(outcomes),
            sum(1 for o in outcomes if o.written),
            sum(1 for o in outcomes if o.error),
            len(stale) if self.state.cluster_id else 0,
        )
        return rendered.cursor

    def apply_pages(
        self, pages: Iterator[Rendered], existing: dict[Key, Actual]
    ) -> tuple[list[Outcome], list[Outcome]]:
        """Apply each page; every page but the last is reported while the next one is
        applied. All the outcomes, and the last page's (not reported yet)."""
        outcomes: list[Outcome] = []
        done: list[Outcome] = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="report") as reporter:
            sent = []
            for page in pages:
                wanted, _ = self.take(page)
                done = self.applier.apply(
                    [(d, existing.get(d.body.key)) for d in wanted], look=False
                )
                outcomes += done
                if page.more:
                    sent.append(reporter.submit(self.report_installations, done))
            for report in sent:
                report.result()
        return outcomes, done

    def learn(self, rendered: Rendered) -> None:
        if rendered.cluster_id:
            self.state.cluster_id = rendered.cluster_id

    def take(self, rendered: Rendered) -> tuple[list[Desired], list[Key]]:
        """Record what ``rendered`` wants; the objects to apply and the keys no longer
        wanted (an installation gone or moved, a SecretSync refused or retargeted)."""
        state, wanted, gone = self.state, [], []
        for ref in rendered.absent:
            gone.extend(self.release(state.installations.pop(ref, None), "installation", ref))
        for desired in rendered.installations:
            assert isinstance(desired.ref, int)
            before = state.installations.get(desired.ref)
            if before != desired.body.key:
                gone.extend(self.release(before, "installation", desired.ref))
            state.installations[desired.ref] = desired.body.key
            state.objects[desired.body.key] = desired
            wanted.append(desired)
        for verdict in rendered.syncs:
            key = (verdict.namespace, verdict.name)
            record = state.syncs.setdefault(key, SyncRecord())
            target = verdict.desired.body.key if verdict.desired else None
            if record.target != target:
                gone.extend(self.release(record.target, "sync", key))
            record.target = target
            if verdict.desired is not None:
                state.objects[verdict.desired.body.key] = verdict.desired
                wanted.append(verdict.desired)
        return wanted, gone

    def release(self, key: Key | None, origin: str, ref: int | Key) -> list[Key]:
        """Forget ``key`` if ``origin``/``ref`` is what wants it; [key] then, else []."""
        desired = self.state.objects.get(key) if key else None
        if key is None or desired is None or (desired.origin, desired.ref) != (origin, ref):
            return []
        del self.state.objects[key]
        return [key]

    def remember(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.written:
                key = outcome.desired.body.key
                kept = self.state.written.setdefault(key, deque(maxlen=WRITES_KEPT))
                kept.append(outcome.written)

    def report_installations(self, outcomes: list[Outcome]) -> None:
        self.server.report(
            installations=[
                reports.installation(o) for o in outcomes if o.desired.origin == "installation"
            ]
        )

    def finish(
        self, rendered: Rendered, outcomes: list[Outcome], unreported: list[Outcome] | None = None
    ) -> None:
        """Write the SecretSyncs' status (where it changes) and report the outcomes (of
        installations, those of ``unreported`` when given)."""
        of_sync = {o.desired.ref: o for o in outcomes if o.desired.origin == "sync"}
        synced = [(v, of_sync.get((v.namespace, v.name))) for v in rendered.syncs]
        changed: list[tuple[SyncRecord, Key, dict[str, Any]]] = []
        for verdict, outcome in synced:
            key = (verdict.namespace, verdict.name)
            record = self.state.syncs.setdefault(key, SyncRecord())
            status = reports.sync_status(verdict, outcome, record.status)
            if reports.status_differs(status, record.status):
                changed.append((record, key, status))
        written = self.applier.map(lambda item: self.write_status(*item[1:]), changed)
        for (record, _, status), done in zip(changed, written, strict=True):
            if done:
                record.status = status
        installed = outcomes if unreported is None else unreported
        self.server.report(
            installations=[
                reports.installation(o) for o in installed if o.desired.origin == "installation"
            ],
            syncs=[reports.sync(verdict, outcome) for verdict, outcome in synced],
        )

    def write_status(self, key: Key, status: dict[str, Any]) -> bool:
        try:
            self.cluster.write_sync_status(key[0], key[1], status)
            return True
        except ClusterError as exc:
            log.warning("SecretSync %s/%s: %s", key[0], key[1], exc.message)
            return False

    # -- changes ---------------------------------------------------------------------------

    def changes(self, events: list[dict[str, Any]]) -> bool:
        """Apply a batch of change events; False when one asks for a full reconcile (the
        caller does it)."""
        removals: list[Key] = []
        ids: set[int] = set()
        syncs: set[Key] = set()
        for event in events:
            kind = event.get("kind")
            if kind == "reconcile":
                return False
            if kind == "installation":
                ids.add(int(event["installation"]))
            elif kind == "removal":
                removals.append((str(event["namespace"]), str(event["name"])))
            elif kind == "sync":
                syncs.add((str(event["namespace"]), str(event["name"])))
        self.remove([key for key in removals if self.release_removed(key)])
        requests = [sync_request(obj) for obj in self.read_syncs(sorted(syncs))]
        self.render(sorted(ids), requests)
        return True

    def release_removed(self, key: Key) -> bool:
        """A removal names an installed copy: forget it unless a SecretSync wants it."""
        desired = self.state.objects.get(key)
        if desired is not None and desired.origin == "sync":
            return False
        if desired is not None:
            if isinstance(desired.ref, int):
                self.state.installations.pop(desired.ref, None)
            del self.state.objects[key]
        return True

    def read_syncs(self, keys: list[Key]) -> list[dict[str, Any]]:
        """The SecretSyncs named by ``sync`` events, read from the cluster (those gone
        are forgotten)."""
        found = []
        for key in keys:
            try:
                obj = self.cluster.read_sync(*key)
            except ClusterError as exc:  # e.g. a namespace the agent may not read
                log.warning("SecretSync %s/%s not read: %s", key[0], key[1], exc.message)
                continue
            if obj is None:
                self.forget_sync(key)
                continue
            self.note_sync(obj)
            found.append(obj)
        return found

    def note_sync(self, obj: dict[str, Any]) -> None:
        record = self.state.syncs.setdefault(sync_key(obj), SyncRecord())
        record.spec = obj.get("spec")
        record.status = obj.get("status") or {}

    def render(self, ids: list[int], syncs: list[dict[str, Any]]) -> None:
        """Render these installations and SecretSyncs and apply them, reading each object
        first (a few objects: one read each beats listing them all)."""
        if not ids and not syncs:
            return
        rendered = self.server.render(installations=ids, syncs=syncs)
        self.learn(rendered)
        wanted, gone = self.take(rendered)
        self.remove(gone)
        outcomes = self.applier.apply([(d, None) for d in wanted], look=True)
        self.remember(outcomes)
        self.finish(rendered, outcomes)

    def remove(self, keys: list[Key]) -> None:
        """Delete these Secrets if they are this cluster's managed ones (read first)."""

        def one(key: Key) -> None:
            try:
                found = self.cluster.read(*key)
                if found is not None and self.ours(found):
                    self.applier.delete([found])
            except ClusterError as exc:
                log.warning("Secret %s/%s not deleted: %s", key[0], key[1], exc.message)

        self.applier.map(one, keys)

    def ours(self, found: Actual) -> bool:
        labels = found.labels
        return labels.get(MANAGED_BY[0]) == MANAGED_BY[1] and bool(
            self.state.cluster_id and labels.get(CLUSTER_LABEL) == self.state.cluster_id
        )

    # -- SecretSyncs seen in the cluster -----------------------------------------------------

    def sync_events(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        """SecretSyncs added, changed or deleted: render the new specs, drop the deleted
        ones' Secrets. A change of status only (ours) renders nothing."""
        requests: dict[Key, dict[str, Any]] = {}
        for kind, obj in events:
            key = sync_key(obj)
            if kind == "DELETED":
                requests.pop(key, None)
                self.forget_sync(key)
                continue
            record = self.state.syncs.get(key)
            if kind not in ("ADDED", "MODIFIED") or (
                record is not None and record.spec == obj.get("spec")
            ):
                continue
            self.note_sync(obj)
            requests[key] = sync_request(obj)
        self.render([], list(requests.values()))

    def forget_sync(self, key: Key) -> None:
        record = self.state.syncs.pop(key, None)
        if record is not None:
            self.remove(self.release(record.target, "sync", key))

    # -- drift -----------------------------------------------------------------------------

    def secret_events(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        """Watch events of managed Secrets: a desired one edited or deleted by someone else
        is restored and the drift reported. The agent's own writes are told by their
        resourceVersion; an event whose content is the desired one is no drift."""
        found: list[dict[str, Any]] = []
        for kind, obj in events:
            item = actual(obj)
            desired = self.state.objects.get(item.key)
            if desired is None or kind not in ("ADDED", "MODIFIED", "DELETED"):
                continue
            if item.resource_version in self.state.written.get(item.key, ()):
                continue
            if kind == "DELETED":
                drift = self.repair(desired, self.cluster.read(*item.key), "deleted")
            else:
                drift = self.repair(desired, item, "edited")
            found.extend(drift)
        if found:
            self.server.report(drift=found)

    def check(self) -> None:
        """Compare every desired object with what the cluster holds (after a watch lost
        track): restore and report what differs."""
        if not self.state.reconciled:
            return
        existing = self.cluster.list_managed(self.state.cluster_id)
        found: list[dict[str, Any]] = []
        for key, desired in list(self.state.objects.items()):
            item = existing.get(key)
            found.extend(self.repair(desired, item, "edited" if item else "deleted"))
        if found:
            self.server.report(drift=found)

    def repair(self, desired: Desired, item: Actual | None, change: str) -> list[dict[str, Any]]:
        """Restore ``desired`` over ``item`` (None: gone) unless it already is in place;
        the drift entry, if there was drift."""
        if item is not None and content_equal(item, desired.body):
            return []
        if item is not None and change == "deleted":
            change = "edited"
        outcome = self.applier.put(desired, item)
        self.remember([outcome])
        if not outcome.written and not outcome.error:  # restored already (a late event)
            return []
        key = desired.body.key
        log.warning(
            "Drift: Secret %s/%s was %s; %s",
            key[0],
            key[1],
            change,
            "restored" if not outcome.error else "not restored",
        )
        return [reports.drift(key, change, repaired=not outcome.error)]
