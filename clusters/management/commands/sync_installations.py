"""Delete expired installations from their clusters and retry failed syncs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from clusters.services import expire_and_retry


class Command(BaseCommand):
    help = "Delete expired installed secrets from clusters and retry failed syncs."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = expire_and_retry()
        self.stdout.write(
            f"expired {counts['expired']}, retried {counts['retried']}, failed {counts['failed']}"
        )
