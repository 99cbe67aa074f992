"""Prints the one-time code the first-admin page asks for, while no account exists."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from accounts import first_run
from orgs.models import User


class Command(BaseCommand):
    help = "Print the first-run setup code (only while the installation has no account)."

    def handle(self, *args: Any, **options: Any) -> None:
        if User.objects.exists():
            first_run.setup_code_discard()
            return
        code = first_run.setup_code()
        self.stdout.write(
            f"First run: open the site and enter the setup code {code}\n"
            f"(also in {settings.SETUP_CODE_FILE}, readable by this user only)."
        )
