"""Invitations and sign-in in Chromium (items 6 and 11 of the third dashboard pass): the
link shown once and copied, resend, a duplicate offering a resend, the invited person
joining in one step from a second browser, and the landing after sign-in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from orgs.models import Invitation, Membership, Role, User
from tests.browser.conftest import WIDE, Dashboard, open_dashboard
from tests.conftest import Personas

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery"  # tests.conftest.make_user's


def send_invitation(page: Page, email: str, role: str) -> None:
    page.fill("#id_email", email)
    page.select_option("#id_role", role)
    page.click("button:has-text('Send invitation')")


def test_the_link_is_copied_once_and_the_invited_person_joins_in_one_step(
    dash: Dashboard, personas: Personas, browser: Browser, live_server: Any
) -> None:
    """Item 6: a copyable link shown once to the admin (no SMTP needed), a reload shows it
    no more; in a second browser the invited person signs up from it and is a member at
    once, with no "Accept and join" to press."""
    dash.sign_in_as(personas.admin)
    page = dash.goto(f"/orgs/{personas.org.pk}/invites/")
    send_invitation(page, "newbie@example.org", "member")
    expect(page.locator("#messages")).to_contain_text("Sent an invitation to newbie@")
    link = page.locator("#invitation-link").inner_text().strip()
    assert re.fullmatch(r"https?://[^/]+/invites/[A-Za-z0-9_-]+/", link), link
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("#invitation-link-card button:has-text('Copy')")
    expect(page.locator("#invitation-link-card button.copy")).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link
    dash.shoot("invitation-link", doc=True)
    page.reload()
    expect(page.locator("#invitation-link-shown")).to_contain_text("already shown")
    assert link not in page.content()
    assert Invitation.objects.count() == 1

    invited = open_dashboard(browser, live_server.url, WIDE)
    try:
        other = invited.page
        other.goto(link)
        expect(other.locator("main")).to_contain_text("accepts the invitation")
        invited.shoot("invitation-open")
        other.click("#invitation-signup")
        expect(other.locator("#signup-joins")).to_contain_text("join org-a as member")
        invited.shoot("invitation-sign-up")
        other.fill("#id_email", "newbie@example.org")
        other.fill("#id_username", "newbie")
        other.fill("#id_password1", "a-long-unusual-passphrase")
        other.fill("#id_password2", "a-long-unusual-passphrase")
        other.click("button:has-text('Create the account and join org-a')")
        expect(other).to_have_url(re.compile(rf"/orgs/{personas.org.pk}/secrets/$"))
        expect(other.locator("#messages")).to_contain_text("You joined org-a as member.")
        expect(other.locator("#accept-invitation")).to_have_count(0)
        assert invited.errors == []
    finally:
        invited.page.context.close()
    newbie = User.objects.get(username="newbie")
    assert Membership.objects.get(user=newbie, organization=personas.org).role == Role.MEMBER


def test_a_duplicate_offers_a_resend_and_the_new_link_replaces_the_old(
    dash: Dashboard, personas: Personas
) -> None:
    """Item 6: inviting an address twice offers a resend (not "revoke it first"); the
    resend shows a new link once, and the old link no longer works."""
    dash.sign_in_as(personas.admin)
    page = dash.goto(f"/orgs/{personas.org.pk}/invites/")
    send_invitation(page, "twice@example.org", "viewer")
    old = page.locator("#invitation-link").inner_text().strip()
    page = dash.goto(f"/orgs/{personas.org.pk}/invites/")
    send_invitation(page, "twice@example.org", "viewer")
    expect(page.locator("#id_email_error")).to_contain_text("resend it to get a new link")
    expect(page.locator("main")).not_to_contain_text("revoke it first")
    page.click("#resend-duplicate")
    expect(page.locator("#messages")).to_contain_text("the earlier link no longer works")
    new = page.locator("#invitation-link").inner_text().strip()
    assert new != old
    page.goto(old)
    expect(page.locator("#invitation-refused")).to_contain_text("not valid")
    page = dash.goto(f"/orgs/{personas.org.pk}/invites/")
    expect(page.locator("#invitations tbody tr")).to_have_count(1)
    expect(page.locator("#invitations")).to_contain_text("pending")


def test_signing_in_lands_in_the_persons_organization(dash: Dashboard, personas: Personas) -> None:
    """Item 11: signing in lands in the user's organization, not on the list of them."""
    page = dash.goto("/accounts/login/")
    page.fill("#id_login", "vera")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/orgs/{personas.org.pk}/secrets/$"))
    expect(page.locator(".org-name")).to_contain_text("org-a")


def test_invitations_fit_a_phone(narrow: Dashboard, personas: Personas) -> None:
    """Item 6: the link page and the resend controls work at 390 px."""
    narrow.sign_in_as(personas.admin)
    page = narrow.goto(f"/orgs/{personas.org.pk}/invites/")
    send_invitation(page, "phone@example.org", "viewer")
    expect(page.locator("#invitation-link")).to_be_visible()
    assert narrow.fits_width()
    page = narrow.goto(f"/orgs/{personas.org.pk}/invites/")
    page.get_by_role("button", name="Resend the invitation of phone@example.org").click()
    expect(page.locator("#invitation-link")).to_be_visible()
    assert narrow.fits_width()
