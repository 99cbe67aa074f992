"""Housekeeping of the task queue's rows (``settings.TASKS``: the database backend), for the
tasks of every app."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

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
