"""Delete expired installations from their clusters and retry failed syncs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from clusters.sync import expire_and_retry
from secrets_app import values as secret_values


class Command(BaseCommand):
    help = "Delete expired installed secrets from clusters and retry failed syncs."

    def handle(self, *args: Any, **options: Any) -> None:
        # This runs every minute (make run) or as a CronJob: it also keeps the app's
        # Vault token from expiring while no request comes in.
        secret_values.keep_token_alive()
        counts = expire_and_retry()
        self.stdout.write(
            f"expired {counts['expired']}, retried {counts['retried']}, failed {counts['failed']}"
        )
