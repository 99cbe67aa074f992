"""``manage.py bootstrap``: a user, an org, an admin membership and a fresh token."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from rest_framework.test import APIClient

from orgs.models import ApiToken, Membership, Organization, Role, User
from orgs.services import hash_token
from tests.conftest import Personas
from tests.schema_check import CheckedAPIClient

pytestmark = pytest.mark.django_db


def bootstrap(*args: str) -> dict[str, Any]:
    """Runs the command; its output is exactly one JSON line, returned parsed."""
    out = StringIO()
    call_command("bootstrap", *args, stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, out.getvalue()
    result: dict[str, Any] = json.loads(lines[0])
    assert set(result) == {"user", "org_id", "token"}
    return result


def bearer(raw: str) -> APIClient:
    client = CheckedAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_creates_user_org_admin_membership_and_a_working_token() -> None:
    result = bootstrap("--username", "ops", "--org", "acme")
    user = User.objects.get(username="ops")
    org = Organization.objects.get(name="acme")
    assert result["user"] == "ops" and result["org_id"] == org.pk
    assert Membership.objects.get(user=user, organization=org).role == Role.ADMIN
    assert org.memberships.count() == 1
    assert not user.has_usable_password()

    raw = result["token"]
    assert raw.startswith("pst_")
    token = ApiToken.objects.get(user=user)
    assert token.token_hash == hash_token(raw) and token.name == "bootstrap"

    response = bearer(raw).get(f"/api/v1/orgs/{org.pk}")
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "acme" and response.json()["role"] == "admin"
    members = bearer(raw).post(f"/api/v1/orgs/{org.pk}/members", {"username": "ops"}, format="json")
    assert members.status_code == 409  # admin may add members; ops already is one


def test_running_again_reuses_user_and_org_and_mints_a_new_token() -> None:
    first = bootstrap("--username", "ops", "--org", "acme")
    second = bootstrap("--username", "ops", "--org", "acme", "--token-name", "ci")
    assert second["org_id"] == first["org_id"] and second["user"] == "ops"
    assert second["token"] != first["token"]
    assert User.objects.filter(username="ops").count() == 1
    assert Organization.objects.filter(name="acme").count() == 1
    assert Membership.objects.filter(user__username="ops").count() == 1
    assert sorted(ApiToken.objects.filter(user__username="ops").values_list("name", flat=True)) == [
        "bootstrap",
        "ci",
    ]
    for raw in (first["token"], second["token"]):
        assert bearer(raw).get(f"/api/v1/orgs/{first['org_id']}").status_code == 200


def test_an_existing_org_gets_the_user_as_admin(personas: Personas) -> None:
    result = bootstrap("--username", "mike", "--org", "org-a")
    assert result["org_id"] == personas.org.pk
    assert Organization.objects.filter(name="org-a").count() == 1
    assert Membership.objects.get(user=personas.member, organization=personas.org).role == "admin"
    assert User.objects.get(pk=personas.member.pk).check_password("correct horse battery"), (
        "without --password the existing password is kept"
    )
    listed = bearer(result["token"]).get("/api/v1/orgs").json()
    assert [(o["name"], o["role"]) for o in listed] == [("org-a", "admin")]


def test_an_org_name_differing_only_in_case_is_the_same_org(personas: Personas) -> None:
    """Org names are unique regardless of case, so bootstrap either reuses the org or says
    clearly why it cannot; it never dies with an unhandled error."""
    before = Organization.objects.count()
    try:
        result = bootstrap("--username", "ops", "--org", "ORG-A")
    except CommandError:
        pass
    else:
        assert result["org_id"] == personas.org.pk
    assert Organization.objects.count() == before


def test_password_lets_the_user_sign_in_to_the_dashboard() -> None:
    bootstrap("--username", "ops", "--org", "acme", "--password", "s3cret-Passphrase")
    client = Client()
    response = client.post("/accounts/login/", {"login": "ops", "password": "s3cret-Passphrase"})
    assert response.status_code == 302 and response["Location"] == "/signed-in/"
    # Signing in lands in the user's only organization.
    home = client.get("/signed-in/", follow=True)
    assert home.status_code == 200 and "acme" in home.content.decode()
    org = Organization.objects.get(name="acme")
    assert home.redirect_chain[-1][0].startswith(f"/orgs/{org.pk}/")

    # Running again with another password resets it.
    bootstrap("--username", "ops", "--org", "acme", "--password", "an0ther-Passphrase")
    assert not Client().login(username="ops", password="s3cret-Passphrase")
    assert Client().login(username="ops", password="an0ther-Passphrase")


def test_without_password_a_new_user_cannot_sign_in() -> None:
    bootstrap("--username", "ops", "--org", "acme")
    response = Client().post("/accounts/login/", {"login": "ops", "password": ""})
    assert response.status_code == 200
    assert not Client().login(username="ops", password="")


@pytest.mark.parametrize(
    "args",
    [
        ("--username", "  ", "--org", "acme"),
        ("--username", "ops", "--org", ""),
        ("--username", "ops", "--org", "acme", "--token-name", " "),
    ],
)
def test_blank_arguments_are_refused_cleanly_and_change_nothing(args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError):
        call_command("bootstrap", *args, stdout=StringIO())
    assert not User.objects.exists() and not Organization.objects.exists()
