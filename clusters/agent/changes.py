"""The agent's change stream: a long-poll over the cluster's change events.

The request waits on the database, not on anything the tenant controls: one indexed query
every ``STEP`` seconds until an event newer than the agent's cursor exists or the wait is
over. Events are kept ``AGENT_CHANGES_KEPT_SECONDS``; an agent whose cursor is older than
what was pruned (or ahead of every event: a restored database) is told to ``reset``, that
is, to reconcile in full.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Max

from clusters.models import ChangeEvent, Cluster
from pipeline_secrets.core.metrics import AGENT_CONNECTIONS

# Seconds between two looks at the database while a long-poll waits.
STEP = 0.2
# Events one answer carries at most; the agent asks again from the cursor it got.
PAGE = 500


@dataclass
class Changes:
    cursor: int
    reset: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"cursor": self.cursor, "reset": self.reset, "events": self.events}


def current_cursor() -> int:
    """The newest event id of every cluster (a cursor from which nothing is missed)."""
    return int(ChangeEvent.objects.aggregate(top=Max("id"))["top"] or 0)


def _page(cluster: Cluster, after: int) -> list[dict[str, Any]]:
    rows = ChangeEvent.objects.filter(cluster=cluster, id__gt=after).order_by("id")[:PAGE]
    return [{"id": row_id, **payload} for row_id, payload in rows.values_list("id", "payload")]


def _stale(cluster: Cluster, after: int) -> bool:
    return after < cluster.changes_pruned_through or after > current_cursor()


def wait_for(cluster: Cluster, after: int | None, wait: float) -> Changes:
    """The events of ``cluster`` after ``after`` (at once when there are some), waiting up
    to ``wait`` seconds (capped by ``AGENT_LONG_POLL_SECONDS``) for one."""
    if after is None:
        return Changes(cursor=current_cursor())
    if _stale(cluster, after):
        return Changes(cursor=current_cursor(), reset=True)
    deadline = time.monotonic() + min(wait, settings.AGENT_LONG_POLL_SECONDS)
    AGENT_CONNECTIONS.inc()
    try:
        while True:
            events = _page(cluster, after)
            if events or time.monotonic() >= deadline:
                break
            time.sleep(STEP)
    finally:
        AGENT_CONNECTIONS.dec()
    return Changes(cursor=events[-1]["id"] if events else after, events=events)


def prune(now: datetime) -> dict[str, int]:
    """The periodic job: forget events older than ``AGENT_CHANGES_KEPT_SECONDS``, noting on
    each cluster how far its agent's cursor must reach to have missed nothing."""
    cutoff = now - timedelta(seconds=settings.AGENT_CHANGES_KEPT_SECONDS)
    old = ChangeEvent.objects.filter(created_at__lt=cutoff)
    tops = old.values("cluster_id").annotate(top=Max("id"))
    for row in tops:
        Cluster.objects.filter(pk=row["cluster_id"]).update(changes_pruned_through=row["top"])
    deleted, _ = old.delete()
    return {"pruned": deleted}
