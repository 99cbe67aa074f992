"""What the task worker runs for agent clusters, and what queues it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django_tasks import task

from clusters.agent import changes
from clusters.models import ChangeEvent
from pipeline_secrets.core import queue


@task()
def prune_changes(now: str) -> dict[str, int]:
    """Forget change events older than ``AGENT_CHANGES_KEPT_SECONDS``."""
    return changes.prune(datetime.fromisoformat(now))


def enqueue_prune(now: datetime) -> dict[str, int]:
    """The periodic job: queue the pruning when there is something old to prune (one
    query when there is not)."""
    cutoff = now - timedelta(seconds=settings.AGENT_CHANGES_KEPT_SECONDS)
    if not ChangeEvent.objects.filter(created_at__lt=cutoff).exists():
        return {"queued": 0}
    return {"queued": queue.enqueue_once(prune_changes, now=now.isoformat())}
