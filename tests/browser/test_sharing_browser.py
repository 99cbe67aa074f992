"""A one-time share link in a real browser: made on the secret's page by a member, opened
in a second browser context (another person, no session), where nothing shows until
"Reveal" is clicked, and a reload says the link was already opened."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from governance.models import ShareLink
from secrets_app import services
from tests.browser.conftest import WIDE, Dashboard, open_dashboard
from tests.conftest import Personas, VaultServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.vault]

PASSWORD = "horse-battery-7731"


def test_a_link_made_on_the_secret_page_opens_once_in_another_browser(
    dash: Dashboard, browser: Browser, live_server: Any, vault: VaultServer, personas: Personas
) -> None:
    row = services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name="mysql-root",
        type="password",
        values={"username": "root", "password": PASSWORD},
        tags=[],
    ).row
    dash.sign_in_as(personas.member)
    page = dash.goto(f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/")
    panel = page.locator("#secret-share")
    panel.get_by_label("password").check()
    panel.get_by_label("Expires after").select_option("4h")
    panel.get_by_role("button", name="Create a one-time link").click()
    link = panel.get_by_label("Share link")
    expect(link).to_be_visible()
    url = link.inner_text().strip()
    assert "#" in url and url.startswith(live_server.url + "/s/")
    dash.shoot("share-link-created")

    other = open_dashboard(browser, live_server.url, WIDE)
    try:
        opened = other.page
        opened.goto(url)
        expect(opened.get_by_role("button", name="Reveal")).to_be_visible()
        expect(opened.locator("body")).not_to_contain_text(PASSWORD)
        expect(opened.get_by_label("Link key (the part of the link after #)")).to_be_hidden()
        opened.get_by_role("button", name="Reveal").click()
        expect(opened.locator("#share-fields")).to_contain_text(PASSWORD)
        expect(opened.locator("#share-fields")).not_to_contain_text("root")
        other.shoot("share-link-revealed", doc=True)
        opened.reload()
        expect(opened.locator("body")).to_contain_text("This link was already opened.")
        expect(opened.locator("body")).not_to_contain_text(PASSWORD)
        assert not other.errors, other.errors
    finally:
        opened.context.close()
    assert ShareLink.objects.get().opened_at is not None
    page.reload()
    expect(page.locator("#secret-share .share-state")).to_contain_text("opened")
    expect(page.locator("#secret-share")).not_to_contain_text(url)
