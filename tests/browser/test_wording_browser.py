"""What the sign-in, account, members and activity pages say and how they fit, in Chromium
(items 8 and 10 of the third dashboard pass)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from orgs import reporting
from orgs.models import Membership, User
from tests.browser.conftest import Dashboard
from tests.conftest import Personas

pytestmark = pytest.mark.django_db(transaction=True)

# A secret type with many fields, as an update of a long generic secret records them.
MANY_FIELDS = [f"SERVICE_ACCOUNT_CONFIGURATION_FIELD_NUMBER_{n:02d}" for n in range(40)]


def test_the_activity_page_fits_with_a_long_fields_list_and_says_how_people_signed_in(
    dash: Dashboard, personas: Personas
) -> None:
    """Item 8: the activity page fits a 1,280 px window with a forty-field event; item 10:
    a sign-in reads "through: LDAP", not "from version: ldap"."""
    reporting.audit(
        actor="alice",
        action="secret.update",
        organization=personas.org,
        target_type="secret",
        target_id="cd" * 32,
        target_name="a-very-long-secret-name-for-the-payments-service-in-production",
        version=2,
        fields=MANY_FIELDS,
    )
    reporting.audit(
        actor="mike",
        action="signin",
        organization=personas.org,
        target_type="user",
        target_id=personas.member.pk,
        target_name="mike",
        source="ldap",
    )
    dash.sign_in_as(personas.admin)
    page = dash.goto(f"/orgs/{personas.org.pk}/activity/")
    expect(page.locator(".activity-table")).to_contain_text(MANY_FIELDS[-1])
    expect(page.locator(".activity-table")).to_contain_text("through: LDAP")
    expect(page.locator(".activity-table")).not_to_contain_text("from version")
    assert dash.fits_width()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, width
    dash.shoot("activity-long-fields")


def test_the_password_page_makes_no_promise_it_cannot_keep(
    dash: Dashboard, personas: Personas
) -> None:
    """Item 10: the first admin has no verified address: no reset link is promised."""
    dash.sign_in_as(personas.admin)
    page = dash.goto("/accounts/password/")
    expect(page.locator("#reset-hint")).to_contain_text("no verified e-mail address")
    expect(page.locator("main")).not_to_contain_text("A reset link goes to")
    page.click("#reset-hint a:has-text('Add an address')")
    expect(page).to_have_url(f"{dash.base_url}/accounts/email/")


def test_the_set_password_page_is_styled(dash: Dashboard, personas: Personas) -> None:
    """Item 8: allauth's set-password page in the product's card and form styles."""
    user = User.objects.create(username="nopass")
    user.set_unusable_password()
    user.save()
    dash.sign_in_as(user)
    page = dash.goto("/accounts/password/set/")
    card = page.locator("#password-set")
    expect(card).to_be_visible()
    expect(card.locator("h1")).to_have_text("Set a password")
    radius = card.evaluate("node => getComputedStyle(node).borderTopLeftRadius")
    assert radius not in ("", "0px"), radius
    expect(card.locator("label[for='id_password1']")).to_be_visible()
    expect(card.locator("button.primary")).to_have_text("Set password")


def test_the_sign_in_settings_show_github_only_when_configured(
    dash: Dashboard, personas: Personas, settings
) -> None:
    """Item 8: the GitHub card shows only when GitHub sign-in is configured."""
    settings.GITHUB_CLIENT_ID = ""
    dash.sign_in_as(personas.admin)
    page = dash.goto(f"/orgs/{personas.org.pk}/settings/")
    expect(page.locator("#github-h")).to_have_count(0)
    expect(page.locator("#github-not-configured")).to_contain_text("not configured")
    expect(page.locator("#groups-h")).to_be_visible()


def test_re_mapping_a_group_says_what_happens_to_its_members(
    dash: Dashboard, personas: Personas, settings
) -> None:
    """Item 10: re-mapping a group to another role says so, with what it does."""
    settings.LDAP_TRUSTED_GROUPS = ["*"]
    dash.sign_in_as(personas.admin)
    page = dash.goto(f"/orgs/{personas.org.pk}/settings/")
    page.fill("#id_group", "ops")
    page.select_option("#id_role", "viewer")
    page.click("button:has-text('Map group')")
    expect(page.locator("#messages")).to_contain_text("Mapped ops to viewer")
    page.fill("#id_group", "ops")
    page.select_option("#id_role", "admin")
    page.click("button:has-text('Map group')")
    expect(page.locator("#messages")).to_contain_text(
        "ops now maps to admin instead of viewer: members who came in through it become admin"
    )
    expect(page.locator("#group-mappings")).to_contain_text("admin")


def test_the_members_page_says_no_account_is_created(dash: Dashboard, personas: Personas) -> None:
    """Item 10: the Members page and the README agree: adding a member invites an existing
    account, and creates none."""
    dash.sign_in_as(personas.admin)
    page = dash.goto(f"/orgs/{personas.org.pk}/members/")
    expect(page.locator("#add-member-h")).to_be_visible()
    expect(page.locator("#members-panel")).to_contain_text("No account is created here")
    page.fill("#id_username", "nobody-here")
    page.click("button:has-text('Invite member')")
    expect(page.locator("#members-panel")).to_contain_text("No user named 'nobody-here'")
    assert not User.objects.filter(username="nobody-here").exists()


def test_removing_a_member_is_confirmed_on_a_phone_with_the_keyboard(
    narrow: Dashboard, personas: Personas
) -> None:
    """Item 1 (confirmation pages): removing a member is a link to a page that says what
    happens, usable at 390 px and from the keyboard; nothing changes before its button."""
    narrow.sign_in_as(personas.admin)
    page = narrow.goto(f"/orgs/{personas.org.pk}/members/")
    page.get_by_role("link", name="Remove mike").click()
    expect(page.locator("#member-remove h1")).to_have_text("Remove mike from org-a?")
    expect(page.locator("#remove-tokens")).to_contain_text("0 active API tokens")
    assert narrow.fits_width()
    assert Membership.objects.filter(user=personas.member, organization=personas.org).exists()
    page.focus("#confirm-remove")
    page.keyboard.press("Enter")
    expect(page.locator("#messages")).to_contain_text("Removed mike from org-a.")
    expect(page).to_have_url(f"{narrow.base_url}/orgs/{personas.org.pk}/members/")
    assert not Membership.objects.filter(user=personas.member, organization=personas.org).exists()
