"""The core app: no models of its own; after ``migrate`` it makes sure the database cache
table exists, so every process of a deployment shares the same cache (login limits), and
its periodic jobs prune finished task rows and hand the tasks of a dead worker to the
next one."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def create_cache_table(*, using: str = "default", **kwargs: Any) -> None:
    """``createcachetable`` for the database ``migrate`` ran on (a no-op once it exists)."""
    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "pipeline_secrets.core"
    label = "core"
    verbose_name = "Pipeline Secrets core"

    def ready(self) -> None:
        post_migrate.connect(create_cache_table, sender=self, dispatch_uid="core-cache-table")
        # Finished task rows (of every app) are forgotten after a while; the tasks of a
        # dead worker go to the next one.
        from pipeline_secrets.core import periodic, queue

        periodic.register("tasks.prune", queue.prune_finished)
        periodic.register("tasks.recover", queue.requeue_abandoned)
