"""The change-request queue in a real browser: a member's update of a protected secret is
held for approval; an admin opens the queue (its tab counts the request), reads the diff
(values masked) and approves it, and the new version is in place."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from governance.models import ChangeRequest, Protection
from secrets_app import services
from secrets_app.models import SecretIndex
from tests.browser.conftest import WIDE, Dashboard, open_dashboard
from tests.conftest import Personas
from tests.helpers import secret_values

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_held_update_is_approved_from_the_queue(
    dash: Dashboard, browser: Browser, live_server: Any, vault: object, personas: Personas
) -> None:
    org = personas.org
    row = services.secret_create(
        actor=personas.admin,
        organization=org,
        name="payments-db",
        type="generic",
        values={"password": "first-value", "user": "payments"},
        tags=["env:prod"],
    ).row
    Protection.objects.create(organization=org, tags=["env:prod"])

    dash.sign_in_as(personas.member)
    page = dash.goto(f"/orgs/{org.pk}/secrets/{row.secret_id}/edit/")
    page.fill('input[name="v_password"]', "second-value")
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_text("held for approval")).to_be_visible()
    assert SecretIndex.objects.get(pk=row.pk).version == 1

    admin = open_dashboard(browser, live_server.url, WIDE)
    try:
        admin.sign_in_as(personas.admin)
        queue = admin.goto(f"/orgs/{org.pk}/secrets/")
        queue.get_by_role("link", name="Change requests (1)").click()
        expect(queue.locator("h1")).to_have_text("Change requests")
        held = ChangeRequest.objects.get(secret_id=row.secret_id)
        queue.get_by_role("link", name=f"#{held.pk}").click()
        expect(queue.locator("table.diff")).to_contain_text("password")
        expect(queue.locator("table.diff")).to_contain_text("changed")
        expect(queue.locator("main")).not_to_contain_text("second-value")
        admin.shoot("change-request", doc=True)
        queue.get_by_role("button", name="Approve").click()
        expect(queue.locator("#change-status")).to_have_text("applied")
        assert not admin.errors, admin.errors
    finally:
        admin.page.context.close()
    row = SecretIndex.objects.get(pk=row.pk)
    assert row.version == 2
    assert secret_values(row=row) == {"password": "second-value", "user": "payments"}
