"""Run every app's periodic jobs once: ``make run`` starts it every minute, a CronJob may too.

The jobs live in the registry of ``pipeline_secrets.core.periodic`` (each app registers its
own in ``AppConfig.ready()``), so this command knows none of them; it lives in the lowest app
that also keeps the app's Vault token alive. Several runners may run at once: each job claims
its items before working on them. No job waits on a tenant's receiver: notification
deliveries due again are only queued here, for the task worker (``manage.py db_worker``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from pipeline_secrets.core import periodic
from secrets_app import values as secret_values

periodic_logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run the periodic jobs (rotation, renewal, installed copies) once, and queue the "
        "notification deliveries that are due for the task worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--only", action="append", default=[], help="Run only this job (repeatable)."
        )
        parser.add_argument(
            "--now",
            type=_timestamp,
            default=None,
            help="The round's time (RFC 3339), for trying what a later round would do.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # With no request coming in, this keeps the app's Vault token from expiring.
        secret_values.keep_token_alive()
        now: datetime = options.get("now") or timezone.now()
        only = set(options["only"])
        failed = []
        for job in periodic.jobs():
            if only and job.name not in only:
                continue
            try:
                counts = job.run(now)
            except Exception:
                # One job's failure does not keep the others from their round.
                self.stderr.write(f"{job.name}: failed")
                periodic_logger.exception("periodic job %s failed", job.name)
                failed.append(job.name)
                continue
            summary = ", ".join(f"{key} {value}" for key, value in counts.items())
            self.stdout.write(f"{job.name}: {summary or 'done'}")
        if failed:
            raise CommandError(f"periodic jobs failed: {', '.join(failed)}")


def _timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("the time needs a UTC offset")
    return value
