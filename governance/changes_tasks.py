"""What the task worker runs for change requests: ending those past their expiry. The
periodic command only queues it when one is due (one query when none is)."""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from governance import changes
from governance.models import ChangeRequest
from pipeline_secrets.core import queue


@task()
def expire_due(now: str) -> dict[str, int]:
    """End the pending change requests past their expiry at ``now``."""
    return changes.expire_due(datetime.fromisoformat(now))


def enqueue_expiry(now: datetime) -> dict[str, int]:
    """The periodic job: queue ``expire_due`` when a pending request expired by ``now``."""
    due = ChangeRequest.objects.filter(status=ChangeRequest.Status.PENDING, expires_at__lte=now)
    if not due.exists():
        return {"queued": 0}
    return {"queued": queue.enqueue_once(expire_due, now=now.isoformat())}
