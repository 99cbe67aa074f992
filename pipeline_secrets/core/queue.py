"""The task queue's upkeep, for every app (``settings.TASKS``: the database backend):
queueing periodic work for the worker (``manage.py db_worker``) without piling it up,
taking back the tasks of a dead worker, and forgetting finished task rows.

A periodic round queues a task for what is due; when the worker is behind or down, the task
of an earlier round is still waiting and will see everything due by the time it runs, so a
second one would only repeat it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django_tasks.base import Task
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max


def enqueue_once(task: Task[Any, Any], **kwargs: Any) -> int:
    """Queue ``task`` unless one of it waits to start; how many were queued (0 or 1)."""
    waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY, task_path=task.module_path)
    if waiting.exists():
        return 0
    task.enqueue(**kwargs)
    return 1


def requeue_abandoned(now: datetime) -> dict[str, int]:
    """The periodic job ``tasks.recover``: a task still running ``TASK_LEASE_SECONDS`` after
    it started lost its worker (``kill -9``, an evicted pod); it waits for the next worker
    again. Tasks are idempotent, so one that was only slow does nothing twice."""
    lease = timedelta(seconds=settings.TASK_LEASE_SECONDS)
    abandoned = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=now - lease
    )
    # ``run_after`` at its maximum is the backend's "no delay": ready at once.
    count = abandoned.update(
        status=TaskResultStatus.READY, started_at=None, run_after=get_date_max()
    )
    return {"requeued": count}


# How long finished task rows are kept (what ran, and why a task failed).
KEEP_SUCCESSFUL = timedelta(days=7)
KEEP_FAILED = timedelta(days=30)


def prune_finished(now: datetime) -> dict[str, int]:
    """The periodic job ``tasks.prune``: forget the task rows (of every app) that finished
    longer ago than ``KEEP_SUCCESSFUL`` / ``KEEP_FAILED``; queued and running ones stay."""
    old = Q(status=TaskResultStatus.SUCCESSFUL, finished_at__lt=now - KEEP_SUCCESSFUL) | Q(
        status=TaskResultStatus.FAILED, finished_at__lt=now - KEEP_FAILED
    )
    deleted, _ = DBTaskResult.objects.filter(old).delete()
    return {"pruned": deleted}
