"""The agent's main loop: a full reconcile at start, then the server's change events
(long-poll from the cursor), the cluster's watch events, a full reconcile every
``resync_interval`` seconds and a heartbeat report when idle.

Everything that changes the cluster runs on ONE worker thread taking items from a queue, so
nothing races: the long-poll (the calling thread) and the watch threads only put items on
it. Nothing polls: the long-poll and the watches block on their connections, the worker on
its queue until the next timer (resync or heartbeat) is due."""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from pipeline_secrets_agent.cluster import Cluster, ClusterError
from pipeline_secrets_agent.reconcile import Reconciler, sync_key
from pipeline_secrets_agent.server import Server, ServerError, Unauthorized
from pipeline_secrets_agent.watch import Backoff, Item, Watcher

log = logging.getLogger(__name__)


class Agent:
    """Keeps ``cluster`` equal to what ``server`` says, until ``stop``."""

    def __init__(
        self,
        server: Server,
        cluster: Cluster,
        *,
        resync_interval: float = 600.0,
        heartbeat_interval: float = 30.0,
        wait: int = 25,
        watch_timeout: int = 300,
    ) -> None:
        self.server = server
        self.cluster = cluster
        self.reconciler = Reconciler(server, cluster)
        self.resync_interval = resync_interval
        self.heartbeat_interval = heartbeat_interval
        self.wait = wait
        self.watch_timeout = watch_timeout
        self.queue: queue.Queue[Item] = queue.Queue()
        self.stopping = threading.Event()
        self.fatal: str | None = None
        self.cursor: int | None = None
        self.cursor_ready = threading.Event()
        self.next_full = float("inf")
        self.last_beat = time.monotonic()
        self.retry = Backoff()
        self.watchers: list[Watcher] = []
        self.worker = threading.Thread(target=self.work, name="worker", daemon=True)

    # -- life --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker (which reconciles first, then starts the watches); ``poll``
        follows."""
        self.queue.put(Item("full"))
        self.worker.start()

    def watch(self) -> None:
        """Follow the managed Secrets and the SecretSyncs from the first full reconcile's
        lists on: what changed since (the agent's own writes too) comes as events, so
        the writes of that reconcile do not compete with the watches' reading."""
        for what in ("secrets", "syncs"):
            for namespace in self.cluster.scopes():
                watcher = Watcher(
                    self.cluster,
                    what,
                    namespace,
                    self.queue.put,
                    self.stopping,
                    self.watch_timeout,
                    version=self.cluster.listed.get((what, namespace)),
                )
                self.watchers.append(watcher)
                watcher.start()

    def run(self) -> int:
        """Start, follow the server's changes until stopped; 0, or 1 after a fatal error
        (``fatal`` says which)."""
        self.start()
        self.poll()
        self.worker.join(timeout=60)
        deadline = time.monotonic() + 5
        for watcher in self.watchers:  # their streams are closed: they end at once
            watcher.join(timeout=max(0.0, deadline - time.monotonic()))
        self.reconciler.applier.close()
        return 1 if self.fatal else 0

    def stop(self, fatal: str | None = None) -> None:
        if fatal and not self.fatal:
            self.fatal = fatal
            log.error("%s", fatal)
        self.stopping.set()
        self.cursor_ready.set()
        self.queue.put(Item("stop"))
        self.cluster.close_streams()

    # -- the server's changes (the calling thread) ---------------------------------------------

    def poll(self) -> None:
        """Long-poll ``changes`` from the cursor of the first full reconcile; put what comes
        on the queue. Connection errors: back off 1, 2, 4 ... 30 s, keep the cursor."""
        self.cursor_ready.wait()
        backoff = Backoff()
        while not self.stopping.is_set():
            try:
                changes = self.server.changes(self.cursor, self.wait)
            except Unauthorized as exc:
                self.stop(str(exc))
                return
            except ServerError as exc:
                delay = backoff.next()
                log.warning("Change stream: %s; again in %.0f s", exc, delay)
                self.stopping.wait(delay)
                continue
            backoff.reset()
            if changes.reset:
                log.info("Change stream reset at %d: full reconcile", changes.cursor)
                self.queue.put(Item("full"))
            elif changes.events:
                self.queue.put(Item("changes", changes.events))
            self.cursor = changes.cursor

    # -- the worker ---------------------------------------------------------------------------

    def work(self) -> None:
        while not self.stopping.is_set():
            items = self.take()
            if any(item.kind == "stop" for item in items):
                return
            try:
                self.handle(items)
                self.retry.reset()
            except Unauthorized as exc:
                self.stop(str(exc))
                return
            except (ServerError, ClusterError) as exc:
                self.again(str(exc))
            except Exception:  # a bug must not end the agent: the next full reconcile heals
                log.exception("Handling %s failed", [item.kind for item in items])
                self.again("unexpected error")

    def again(self, reason: str) -> None:
        """Something failed: a full reconcile after the next backoff delay covers it."""
        delay = self.retry.next()
        log.warning("%s; full reconcile in %.0f s", reason, delay)
        self.next_full = min(self.next_full, time.monotonic() + delay)

    def take(self) -> list[Item]:
        """The next items: wait for one until a timer is due, then take all queued (a burst
        of events is applied as one batch)."""
        due = min(self.next_full, self.last_beat + self.heartbeat_interval)
        items: list[Item] = []
        try:
            items.append(self.queue.get(timeout=max(0.0, due - time.monotonic())))
            while True:
                items.append(self.queue.get_nowait())
        except queue.Empty:
            pass
        return items

    def handle(self, items: list[Item]) -> None:
        now = time.monotonic()
        full = now >= self.next_full or any(item.kind == "full" for item in items)
        watched: dict[str, list[tuple[str, dict[str, Any]]]] = {"secrets": [], "syncs": []}
        for item in items:
            if item.kind == "watch":
                what, kind, obj = item.payload
                watched[what].append((kind, obj))
        if watched["secrets"]:
            self.reconciler.secret_events(watched["secrets"])
        if not full:
            full = not self.incremental(items, watched["syncs"])
        if full:
            self.full()
        if items or time.monotonic() - self.last_beat >= self.heartbeat_interval:
            if not items:
                self.server.report()
            self.last_beat = time.monotonic()

    def incremental(self, items: list[Item], syncs: list[tuple[str, dict[str, Any]]]) -> bool:
        """Apply change events, SecretSync events and relists; False if a full reconcile is
        asked for instead."""
        events = [event for item in items if item.kind == "changes" for event in item.payload]
        if events and not self.reconciler.changes(events):
            return False
        if syncs:
            self.reconciler.sync_events(syncs)
        relisted = {item.payload for item in items if item.kind == "relisted"}
        if "secrets" in relisted:
            self.reconciler.check()
        if "syncs" in relisted:
            self.resync_syncs()
        return True

    def resync_syncs(self) -> None:
        """The SecretSync watch lost track: every SecretSync as if added, the ones gone as
        deleted."""
        listed = self.cluster.all_syncs()
        seen = {sync_key(obj) for obj in listed}
        gone = [key for key in self.reconciler.state.syncs if key not in seen]
        deleted = [("DELETED", {"metadata": {"namespace": ns, "name": n}}) for ns, n in gone]
        self.reconciler.sync_events([*deleted, *(("ADDED", obj) for obj in listed)])

    def full(self) -> None:
        cursor = self.reconciler.full()
        self.next_full = time.monotonic() + self.resync_interval
        if self.cursor is None:
            self.cursor = cursor
            self.cursor_ready.set()
            self.watch()
