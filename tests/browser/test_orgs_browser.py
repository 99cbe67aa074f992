"""Signing in, organizations, members, tokens and the 404 page in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from orgs.models import ApiToken, Membership, Organization, Role, Source
from tests.browser.conftest import Dashboard
from tests.conftest import Personas, make_user

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery"  # conftest.make_user's


def test_sign_in_create_an_org_and_sign_out(dash: Dashboard, personas: Personas, settings) -> None:
    settings.ORG_CREATION = "anyone"  # vera is no staff account
    page = dash.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.fill("#id_login", "vera")
    page.fill("#id_password", "wrong")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("not correct")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    # The sign-in lands in vera's only organization; the list of them is one click away.
    expect(page).to_have_url(re.compile(rf"/orgs/{personas.org.pk}/secrets/$"))
    page = dash.goto("/")
    expect(page.locator("h1")).to_have_text("Your organizations")
    page.fill("#id_name", "vera-team")
    page.click("button:has-text('Create organization')")
    expect(page.locator(".flash.success")).to_contain_text("Created vera-team")
    expect(page.locator(".empty-state")).to_contain_text("Create your first secret")
    dash.shoot("new-org-empty")
    org = Organization.objects.get(name="vera-team")
    assert Membership.objects.get(organization=org, user=personas.viewer).role == Role.ADMIN
    page.locator(".switcher summary").click()
    page.locator(".switcher .menu a", has_text="org-a").click()
    expect(page).to_have_url(re.compile(rf"/orgs/{personas.org.pk}/secrets/$"))
    page.click("button:has-text('Sign out')")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))


def test_members_and_roles(dash: Dashboard, personas: Personas) -> None:
    nina_user = make_user("nina")
    nina_user.email = "nina@example.org"
    nina_user.save(update_fields=["email"])
    dash.sign_in_as(personas.admin)
    page = dash.goto(f"/orgs/{personas.org.pk}/members/")
    expect(page.locator(".rules")).to_contain_text("Also manages members and clusters.")
    page.fill("#id_username", "nina")
    page.select_option("#id_role", "viewer")
    page.click("button:has-text('Invite member')")
    # The invitation's link page follows, with the link shown once.
    expect(page.locator("#messages")).to_contain_text("Invited nina as viewer")
    expect(page.locator("#invitation-link")).to_contain_text("/invites/")
    assert not Membership.objects.filter(user=nina_user).exists()
    # nina accepts the invitation (tests/test_security_consent.py follows the link itself).
    Membership.objects.create(
        user=nina_user, organization=personas.org, role=Role.VIEWER, source=Source.INVITATION
    )
    page = dash.goto(f"/orgs/{personas.org.pk}/members/")
    nina = Membership.objects.get(user__username="nina")
    page.select_option(f"#role-{nina.user_id}", "member")
    page.get_by_role("button", name="Save role of nina").click()
    expect(page.locator("#members-panel .flash.success")).to_have_text("nina is now member.")
    page.select_option(f"#role-{personas.admin.pk}", "viewer")
    page.get_by_role("button", name="Save role of alice").click()
    expect(page.locator("#members-panel .flash.error")).to_contain_text("at least one admin")
    dash.shoot("members", doc=True)
    # Removing is confirmed on its own page, which says what happens.
    page.get_by_role("link", name="Remove nina").click()
    expect(page.locator("#member-remove")).to_contain_text("nina loses the member role")
    page.click("#confirm-remove")
    expect(page.locator("#messages")).to_contain_text("Removed nina")
    expect(page.locator("#members-panel tbody tr")).to_have_count(3)
    assert not Membership.objects.filter(user__username="nina").exists()


def test_a_member_sees_members_but_no_controls(dash: Dashboard, personas: Personas) -> None:
    dash.sign_in_as(personas.member)
    page = dash.goto(f"/orgs/{personas.org.pk}/members/")
    expect(page.locator("#members-panel tbody tr")).to_have_count(3)
    expect(page.locator("#members-panel select")).to_have_count(0)
    expect(page.locator(".notice")).to_contain_text("Only admins")


def test_create_copy_and_revoke_a_token(dash: Dashboard, personas: Personas) -> None:
    dash.sign_in_as(personas.member)
    page = dash.goto("/")
    page.click("text=API tokens")
    page.fill("#id_name", "ci-deploy")
    page.select_option("#id_expires", "90")
    page.click("button:has-text('Create token')")
    raw = page.locator(".reveal-once .secret-text").inner_text()
    token = ApiToken.objects.get(name="ci-deploy")
    assert raw.startswith(token.prefix)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click(".reveal-once button:has-text('Copy')")
    expect(page.locator(".reveal-once button.copy")).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == raw
    dash.shoot("tokens", doc=True)
    page.reload()
    assert raw not in page.content()
    page.get_by_role("button", name="Revoke ci-deploy").click()
    expect(page.locator("#tokens-panel .flash.success")).to_contain_text("Revoked ci-deploy")
    expect(page.locator("tr", has_text="ci-deploy")).to_contain_text("revoked")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_an_outsider_gets_the_404_page(dash: Dashboard, personas: Personas) -> None:
    dash.sign_in_as(personas.outsider)
    page = dash.goto(f"/orgs/{personas.org.pk}/secrets/")
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.locator("main")).to_contain_text("not a member of")
    assert "org-a" not in page.content()
    dash.shoot("outsider-404")
