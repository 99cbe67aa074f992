"""Rebuild the secret metadata index from Vault, the authoritative store."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from orgs.models import Organization
from secrets_app.index import index_rebuild


class Command(BaseCommand):
    help = "Rebuild the secret metadata index from Vault (all orgs, or --org ID)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", type=int, action="append", help="Only this org id")

    def handle(self, *args: Any, **options: Any) -> None:
        orgs = None
        if options["org"]:
            orgs = list(Organization.objects.filter(pk__in=options["org"]))
        counts = index_rebuild(organizations=orgs)
        self.stdout.write(
            f"indexed {counts['indexed']} secret(s), removed {counts['removed']} stale row(s)"
        )
