"""The real task worker of ``manage.py db_worker``, run in the test process against the test
database: ``run_worker()`` takes every queued task that is ready, runs it, and returns once
none is left (``db_worker --batch``). Tests that use it run with ``transaction=True``: the
worker reads committed task rows, as the worker process does."""

from __future__ import annotations

from typing import Any

from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def run_worker() -> int:
    """Run the queued tasks that are ready; how many ran."""
    before = DBTaskResult.objects.exclude(status=TaskResultStatus.READY).count()
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="tests",
        excluded_queue_names=[],
    ).run()
    failed = DBTaskResult.objects.filter(status=TaskResultStatus.FAILED)
    assert not failed.exists(), [row.traceback for row in failed]
    return DBTaskResult.objects.exclude(status=TaskResultStatus.READY).count() - before


def queued() -> int:
    """Tasks waiting for the worker."""
    return DBTaskResult.objects.filter(status=TaskResultStatus.READY).count()


def returned(task_path: str) -> list[Any]:
    """What the finished runs of the task at ``task_path`` returned, oldest first."""
    rows = DBTaskResult.objects.filter(task_path=task_path, status=TaskResultStatus.SUCCESSFUL)
    return [row.return_value for row in rows.order_by("finished_at")]
