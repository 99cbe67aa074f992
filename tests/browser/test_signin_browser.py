"""Signing in through Dex's real LDAP form and through the GitHub stand-in, in Chromium:
the memberships the directory groups and GitHub organizations map to, and their removal at
the next sign-in once the person left the group or organization."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts import services as account_services
from audit.models import AuditEvent
from orgs.models import Membership, Role, User
from tests.browser.conftest import Dashboard
from tests.conftest import Personas
from tests.github_standin import GitHubStandIn
from tools.devstack.pytest_plugin import Dex, Slapd

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def operator_trusts_the_providers(settings) -> None:
    """The operator trusts the linked GitHub organization and directory groups, and lets
    both providers sign people up (tests/test_security_consent.py covers them closed)."""
    settings.GITHUB_TRUSTED_ORGS = ["*"]
    settings.LDAP_TRUSTED_GROUPS = ["*"]
    settings.SOCIAL_SIGNUP = "open"


def ldap_form_sign_in(dash: Dashboard, username: str, password: str) -> None:
    page = dash.goto("/accounts/login/")
    page.click("#sign-in-oidc")
    expect(page.locator("#login")).to_be_visible()  # Dex's own form
    page.fill("#login", username)
    page.fill("#password", password)
    page.click("#submit-login")


def sign_out(dash: Dashboard) -> None:
    dash.page.click("button:has-text('Sign out')")
    expect(dash.page).to_have_url(re.compile(r"/accounts/login/$"))


def forget_provider_noise(dash: Dashboard, origin: str) -> None:
    """Loads of the provider's own pages (its favicon) are not the product's errors."""
    dash.errors[:] = [e for e in dash.errors if origin not in e]


def test_ldap_sign_in_through_dex_lands_in_the_mapped_org(
    dash: Dashboard, personas: Personas, ldap_signin: Dex, slapd: Slapd
) -> None:
    account_services.group_mapping_set(
        actor=personas.admin, organization=personas.org, group="developers", role=Role.MEMBER
    )
    page = dash.goto("/accounts/login/")
    expect(page.locator("#sign-in-github")).to_be_visible()
    expect(page.locator("#sign-in-oidc")).to_have_text("Sign in with LDAP")
    dash.shoot("sign-in", doc=True)

    # A wrong password stays on Dex's form.
    ldap_form_sign_in(dash, "bob", "not-bobs-password")
    expect(page.get_by_text("Invalid username and password")).to_be_visible()
    assert page.url.startswith(ldap_signin.issuer)
    assert not Membership.objects.filter(organization=personas.org, source="ldap").exists()

    ldap_form_sign_in(dash, "bob", "bob-password")
    # Item 11: the sign-in lands in bob's only organization, not on the list of them.
    expect(page).to_have_url(re.compile(rf"/orgs/{personas.org.pk}/secrets/$"))
    expect(page.locator(".org-name")).to_contain_text("org-a")
    bob = User.objects.get(oidc_identities__subject__isnull=False)
    membership = Membership.objects.get(user=bob, organization=personas.org)
    assert membership.role == Role.MEMBER and membership.source == "ldap"
    dash.goto(f"/orgs/{personas.org.pk}/members/")
    expect(page.locator("#members-panel")).to_contain_text("LDAP")
    sign_out(dash)

    # Out of the group in the directory: the next sign-in removes the membership.
    slapd.remove_from_group("bob", "developers")
    try:
        ldap_form_sign_in(dash, "bob", "bob-password")
        expect(page.locator("h1")).to_have_text("Your organizations")
        assert not Membership.objects.filter(user=bob, organization=personas.org).exists()
        expect(page.locator("main")).not_to_contain_text("org-a")
    finally:
        slapd.modify(
            "dn: cn=developers,ou=Groups,dc=example,dc=org\nchangetype: modify\n"
            "add: member\nmember: uid=bob,ou=People,dc=example,dc=org\n"
        )
    events = AuditEvent.objects.filter(organization=personas.org, target_id=str(bob.pk))
    assert {"member.sync.add", "member.sync.remove"} <= set(events.values_list("action", flat=True))
    assert AuditEvent.objects.filter(action="signin", actor=bob.username).exists()
    forget_provider_noise(dash, ldap_signin.issuer.rsplit("/", 1)[0])


def test_github_sign_in_through_the_stand_in(
    dash: Dashboard, personas: Personas, github: GitHubStandIn
) -> None:
    account_services.github_link_set(
        actor=personas.admin,
        organization=personas.org,
        github_org="acme-gh",
        default_role=Role.VIEWER,
        team_roles={"devs": Role.MEMBER},
    )
    github.add("octo", orgs={"acme-gh"}, teams={("acme-gh", "devs")})
    github.signed_in = "octo"
    page = dash.goto("/accounts/login/")
    page.click("#sign-in-github")
    expect(page).to_have_url(re.compile(rf"/orgs/{personas.org.pk}/secrets/$"))
    expect(page.locator(".org-name")).to_contain_text("org-a")
    octo = User.objects.get(username="octo")
    assert Membership.objects.get(user=octo, organization=personas.org).role == Role.MEMBER
    sign_out(dash)

    github.users["octo"].orgs.clear()
    page.click("#sign-in-github")
    expect(page.locator("h1")).to_have_text("Your organizations")
    assert not Membership.objects.filter(user=octo, organization=personas.org).exists()


def test_sign_in_settings_page_in_the_browser(dash: Dashboard, personas: Personas) -> None:
    dash.sign_in_as(personas.admin)
    page = dash.goto(f"/orgs/{personas.org.pk}/settings/")
    page.fill("#id_group", "developers")
    page.select_option("#id_role", "member")
    page.click("button:has-text('Map group')")
    expect(page.locator("#group-mappings")).to_contain_text("developers")
    page.fill("#id_github_org", "acme-gh")
    page.fill("#id_team_roles", "devs=member\nleads=admin")
    page.click("button:has-text('Save GitHub link')")
    expect(page.locator("main")).to_contain_text("Linked to acme-gh")
    dash.shoot("sign-in-settings")
