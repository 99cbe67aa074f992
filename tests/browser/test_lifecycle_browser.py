"""A secret's lifecycle in a real browser: a member sets a rotation schedule (a bad period
is refused inline), rotates now, and rolls back from the versions page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from secrets_app import services
from secrets_app.models import SecretIndex
from tests.browser.conftest import Dashboard
from tests.conftest import Personas
from tests.helpers import secret_values

pytestmark = pytest.mark.django_db(transaction=True)


def test_rotation_settings_rotate_now_and_rollback(
    dash: Dashboard, vault: object, personas: Personas
) -> None:
    row = services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name="payments-db",
        type="password",
        values={"username": "payments", "password": "randAlphaNum,20"},
        tags=["env:prod"],
    ).row
    first = secret_values(row=row)["password"]
    dash.sign_in_as(personas.member)
    page = dash.goto(f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/")

    card = page.locator("section.rotation")
    page.fill("#rotation-every", "fortnightly")
    card.get_by_role("button", name="Save").click()
    expect(page.locator("#rotation-every_error")).to_contain_text("30d")
    page.fill("#rotation-every", "30d")
    page.locator("section.rotation").get_by_role("button", name="Save").click()
    expect(page.locator("section.rotation dd").first).to_have_text("every 30d")
    expect(page.locator("section.rotation")).to_contain_text("Next")
    dash.shoot("secret-rotation", doc=True)

    page.get_by_role("link", name="Rotate now…").click()
    expect(page.locator("h1")).to_have_text("Rotate payments-db now?")
    page.get_by_role("button", name="Rotate payments-db").click()
    expect(page.get_by_text("Copy the generated values")).to_be_visible()
    row = SecretIndex.objects.get(pk=row.pk)
    second = secret_values(row=row)["password"]
    assert row.version == 2 and second != first and len(second) == 20

    page = dash.goto(f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/")
    page.get_by_role("link", name="Versions").click()
    expect(page.locator("h1")).to_have_text("Versions of payments-db")
    expect(page.locator("#version-2")).to_contain_text("current")
    dash.shoot("secret-versions", doc=True)
    page.locator("#version-1").get_by_role("link", name="Roll back… to v1").click()
    expect(page.locator("h1")).to_have_text("Roll payments-db back to version 1?")
    page.get_by_role("button", name="Roll back to v1").click()
    expect(page.get_by_text("it is now version 3")).to_be_visible()
    expect(page.locator("#version-3")).to_contain_text("current")
    row = SecretIndex.objects.get(pk=row.pk)
    assert row.version == 3 and secret_values(row=row)["password"] == first
    assert dash.fits_width()


def test_the_expiring_view_lists_what_expires_inside_the_window(
    dash: Dashboard, vault: object, personas: Personas
) -> None:
    for name, validity in (("short-tls", "48h"), ("long-tls", "8760h")):
        services.secret_create(
            actor=personas.admin,
            organization=personas.org,
            name=name,
            type="tls",
            values={"hosts": "localhost", "validity": validity, "keyType": "ecdsa-p256"},
        )
    dash.sign_in_as(personas.member)
    page = dash.goto(f"/orgs/{personas.org.pk}/secrets/")
    page.get_by_role("link", name="Expiring").click()
    expect(page.locator("h1")).to_have_text("Expiring secrets")
    listed = page.locator("table.expiring a.secret-link")
    expect(listed).to_have_count(1)
    expect(listed).to_have_text("short-tls")
    expect(page.locator("table.expiring")).to_contain_text("renewed automatically")
    assert dash.fits_width()
