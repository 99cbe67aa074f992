"""Watch threads: each follows one stream (the managed Secrets, or the SecretSyncs, of one
namespace or of all) and puts what it sees on the agent's queue; the worker does the rest.

A watch blocks on its connection (no polling); the API server ends it after
``timeout`` seconds and it resumes from the last resourceVersion seen (bookmarks keep
that fresh). When that version is too old (410) it starts again from now and asks the
worker to compare everything once (``relisted``), since events may have been missed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipeline_secrets_agent.cluster import Cluster, ClusterError

log = logging.getLogger(__name__)

GONE = 410


@dataclass(frozen=True)
class Item:
    """A unit of work for the agent's worker: ``kind`` is ``full``, ``changes`` (payload:
    the events), ``watch`` (payload: (what, event type, object)), ``relisted`` (payload:
    what) or ``stop``."""

    kind: str
    payload: Any = None


class Backoff:
    """Delays after failures: 1, 2, 4 ... ``ceiling`` seconds; ``reset`` after a success."""

    def __init__(self, ceiling: float = 30.0) -> None:
        self.ceiling = ceiling
        self.delay = 0.0

    def next(self) -> float:
        self.delay = min(self.ceiling, self.delay * 2 if self.delay else 1.0)
        return self.delay

    def reset(self) -> None:
        self.delay = 0.0


class Watcher(threading.Thread):
    """Follows ``what`` (``secrets`` or ``syncs``) in ``namespace`` (None: all) until
    ``stopping`` is set, handing every event to ``put``."""

    def __init__(
        self,
        cluster: Cluster,
        what: str,
        namespace: str | None,
        put: Callable[[Item], None],
        stopping: threading.Event,
        timeout: int = 300,
        version: str | None = None,
    ) -> None:
        super().__init__(name=f"watch-{what}-{namespace or 'all'}", daemon=True)
        self.cluster = cluster
        self.what = what
        self.namespace = namespace
        self.put = put
        self.stopping = stopping
        self.timeout = timeout
        self.version = version
        self.started_once = threading.Event()

    def run(self) -> None:
        backoff = Backoff()
        # Starting from a version given (a list's), a later restart from now may have
        # missed events: those ask for a relist; the very first start from now does not.
        relist = self.version is not None
        while not self.stopping.is_set():
            try:
                if self.version is None:
                    self.version = self.cluster.latest_version(self.what, self.namespace)
                    if relist:
                        self.put(Item("relisted", self.what))
                    relist = True
                self.started_once.set()
                self.follow()
                backoff.reset()
            except ClusterError as exc:
                if self.stopping.is_set():
                    return
                if exc.status == GONE:
                    self.version = None
                    continue
                log.warning("Watch of %s: %s", self.what, exc.message)
                self.stopping.wait(backoff.next())
            except Exception:  # the stream closed under it (stop), or a broken answer
                if self.stopping.is_set():
                    return
                log.exception("Watch of %s failed", self.what)
                self.stopping.wait(backoff.next())

    def follow(self) -> None:
        """One watch call, until the server ends it."""
        assert self.version is not None
        for event in self.cluster.events(self.what, self.namespace, self.version, self.timeout):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                raise ClusterError(
                    f"Watching {self.what}: {obj.get('message')}", obj.get("code", 0)
                )
            version = (obj.get("metadata") or {}).get("resourceVersion")
            if version:
                self.version = str(version)
            if kind != "BOOKMARK":
                self.put(Item("watch", (self.what, kind, obj)))
