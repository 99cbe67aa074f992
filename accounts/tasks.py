"""What the task worker (``manage.py db_worker``) runs for accounts: the periodic re-check of
GitHub memberships (``providers.run_due``), which asks GitHub about each user due. The
periodic command only queues it when a membership is due; a run queued twice re-checks
nobody twice, since a checked membership is no longer due.
"""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from accounts import providers
from pipeline_secrets.core import queue


@task()
def recheck_providers(now: str) -> dict[str, int]:
    """Ask GitHub again about the users whose memberships are due at ``now``."""
    return providers.run_due(datetime.fromisoformat(now))


def enqueue_recheck(now: datetime) -> dict[str, int]:
    """The periodic job: queue the re-check when a GitHub membership is due. One query when
    none is."""
    if not providers.github_due(now).exists():
        return {"queued": 0}
    return {"queued": queue.enqueue_once(recheck_providers, now=now.isoformat())}
