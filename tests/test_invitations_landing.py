"""Where a sign-in lands (item 11 of the third dashboard pass): the person's organization,
the only one or the one this browser used last, rather than the list of organizations."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import services as account_services
from audit.models import AuditEvent
from orgs import navigation
from orgs.models import Membership, Role
from tests.conftest import Personas
from tests.sso_fixtures import dex_sign_in
from tools.devstack.pytest_plugin import Dex

PASSWORD = "correct horse battery"  # tests.conftest.make_user's


def sign_in(client: Client, username: str) -> str:
    """Sign in through the form; returns where the sign-in's redirects end."""
    response = client.post("/accounts/login/", {"login": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    assert response["Location"] == "/signed-in/"
    landing = client.get(response["Location"])
    assert landing.status_code == 302
    return str(landing["Location"])


@pytest.mark.django_db
def test_a_person_with_one_organization_lands_in_it(personas: Personas) -> None:
    assert sign_in(Client(), "vera") == f"/orgs/{personas.org.pk}/secrets/"


@pytest.mark.django_db
def test_a_person_in_several_lands_in_the_one_used_last(personas: Personas) -> None:
    Membership.objects.create(user=personas.admin, organization=personas.other_org, role="viewer")
    client = Client()
    assert sign_in(client, "alice") == "/"  # never used one here: the list of them
    page = client.get(f"/orgs/{personas.other_org.pk}/members/")
    assert page.status_code == 200
    assert page.cookies[navigation.LAST_ORG_COOKIE].value == (
        f"{personas.admin.pk}:{personas.other_org.pk}"
    )
    client.post("/accounts/logout/")
    assert sign_in(client, "alice") == f"/orgs/{personas.other_org.pk}/secrets/"
    # Left that organization since: never a page she may not open.
    Membership.objects.filter(user=personas.admin, organization=personas.other_org).delete()
    client.post("/accounts/logout/")
    assert sign_in(client, "alice") == f"/orgs/{personas.org.pk}/secrets/"


@pytest.mark.django_db
def test_another_persons_last_organization_is_not_followed(personas: Personas) -> None:
    for user in (personas.admin, personas.member):
        Membership.objects.create(user=user, organization=personas.other_org, role=Role.VIEWER)
    client = Client()
    sign_in(client, "alice")
    client.get(f"/orgs/{personas.other_org.pk}/members/")
    client.post("/accounts/logout/")
    # mike signs in in the same browser: alice's cookie names her, not him.
    assert sign_in(client, "mike") == "/"


@pytest.mark.django_db
def test_an_explicit_next_page_still_wins(personas: Personas) -> None:
    response = Client().post(
        "/accounts/login/", {"login": "vera", "password": PASSWORD, "next": "/account/tokens/"}
    )
    assert response["Location"] == "/account/tokens/"


@pytest.mark.django_db
def test_the_landing_needs_a_session(personas: Personas) -> None:
    response = Client().get("/signed-in/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db(transaction=True)
def test_a_directory_name_taken_here_is_said_and_audited(
    personas: Personas, ldap_signin: Dex, settings
) -> None:
    """Item 10: the directory's alice meets the product's alice: the new account is alice2,
    and the person is told so (and the audit says why), never silently."""
    settings.LDAP_TRUSTED_GROUPS = ["*"]
    settings.SOCIAL_SIGNUP = "open"
    account_services.group_mapping_set(
        actor=personas.admin, organization=personas.org, group="developers", role=Role.MEMBER
    )
    client = dex_sign_in(ldap_signin, "alice")
    page = client.get("/signed-in/", follow=True)
    assert page.redirect_chain[-1][0] == f"/orgs/{personas.org.pk}/secrets/"
    html = page.content.decode()
    assert "The name alice belongs to another account here, so your new account is alice2" in html
    event = AuditEvent.objects.get(action="identity.link")
    assert event.target_name == "alice2"
    assert event.detail == {"purpose": "ldap", "username": "alice", "reason": "username taken"}
    # The person's own security log says it too, and how they signed in.
    log = " ".join(client.get("/account/security/").content.decode().split())
    assert "the name alice belongs to another account here, so this one is alice2" in log
    assert '<td data-label="Through">LDAP</td>' in log
    # Later sign-ins say nothing more: the account exists.
    again = dex_sign_in(ldap_signin, "alice").get("/signed-in/", follow=True).content.decode()
    assert "belongs to another account" not in again


@pytest.mark.django_db
def test_the_login_form_carries_the_page_asked_for_but_not_the_root(personas: Personas) -> None:
    """A deep link survives the sign-in form; the site's root is no particular page, so
    the sign-in from it lands in the person's organization."""
    deep = Client().get("/accounts/login/?next=/account/tokens/").content.decode()
    assert '<input type="hidden" name="next" value="/account/tokens/">' in deep
    root = Client().get("/accounts/login/?next=/").content.decode()
    assert 'name="next"' not in root
    client = Client()
    assert client.get("/").status_code == 302
    assert sign_in(client, "vera") == f"/orgs/{personas.org.pk}/secrets/"
