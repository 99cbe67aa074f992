"""Create a user, an organization and an admin membership where missing; mint a token.

Prints one JSON line: ``{"user": "U", "org_id": N, "token": "..."}``.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from orgs import services
from orgs.models import Membership, Organization, Role, User


class Command(BaseCommand):
    help = "Create a user, an org and an admin membership where missing, and mint an API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--org", required=True, help="Organization name")
        parser.add_argument("--password", help="Set (or reset) the user's dashboard password")
        parser.add_argument("--token-name", default="bootstrap")

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"].strip()
        org_name: str = options["org"].strip()
        token_name: str = options["token_name"].strip()
        if not username or not org_name or not token_name:
            raise CommandError("--username, --org and --token-name must not be empty")
        with transaction.atomic():
            user, created = User.objects.get_or_create(username=username)
            if options["password"]:
                user.set_password(options["password"])
                user.save(update_fields=["password"])
            elif created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            org = Organization.objects.filter(name__iexact=org_name).first()
            if org is None:
                org = services.organization_create(actor=user, name=org_name, operator=True)
            Membership.objects.update_or_create(
                user=user, organization=org, defaults={"role": Role.ADMIN}
            )
            _, raw = services.token_create(user=user, name=token_name)
        self.stdout.write(json.dumps({"user": username, "org_id": org.pk, "token": raw}))
