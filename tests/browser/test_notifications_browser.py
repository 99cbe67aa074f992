"""The Notifications page in a real browser: an admin adds a webhook (its signing secret shown
once) and an e-mail target, the worker delivers a notification to a real receiver on
127.0.0.1, a failed one waits for its retry in the delivery log."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from notifications import services as notifications
from notifications.models import NotificationTarget
from tests.browser.conftest import Dashboard
from tests.conftest import Personas
from tests.listener import Listener, http_answer
from tests.worker import run_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_targets_and_the_delivery_log(dash: Dashboard, personas: Personas, settings) -> None:
    settings.WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]
    receiver = Listener(http_answer("204 No Content"))
    failing = Listener(http_answer("500 Internal Server Error"))
    try:
        dash.sign_in_as(personas.admin)
        page = dash.goto(f"/orgs/{personas.org.pk}/secrets/")
        page.get_by_role("link", name="Notifications").click()
        expect(page.locator("h1")).to_have_text("Notifications")

        page.select_option("#id_kind", "webhook")
        page.fill("#id_name", "deploy bot")
        page.fill("#id_url", f"{receiver.origin}/pipeline")
        page.get_by_label("secret.rotated", exact=False).check()
        page.click("button:has-text('Add target')")
        expect(page.locator("#notifications-panel .flash.success")).to_have_text(
            "Added deploy bot."
        )
        expect(page.locator("#signing-secret")).to_contain_text("whsec_")

        page.select_option("#id_kind", "email")
        page.fill("#id_name", "security team")
        page.fill("#id_emails", "nope")
        page.click("button:has-text('Add target')")
        expect(page.locator("#id_emails_error")).to_contain_text("valid e-mail")
        page.fill("#id_emails", "security@example.com")
        page.click("button:has-text('Add target')")
        expect(page.locator("tr.target")).to_have_count(2)
        expect(page.locator("#signing-secret")).to_have_count(0)

        notifications.target_create(
            actor=personas.admin,
            organization=personas.org,
            kind="webhook",
            name="old receiver",
            url=failing.origin,
            events=["installation.sync_failed"],
        )
        notifications.notify(
            organization=personas.org,
            event="secret.rotated",
            subject="db-password was rotated (v4)",
            detail={"secretName": "db-password", "version": 4, "trigger": "schedule"},
        )
        notifications.notify(
            organization=personas.org,
            event="installation.sync_failed",
            subject="Updating api-tls in prod/web failed",
            detail={"kubeName": "api-tls", "cluster": "prod", "namespace": "web"},
        )
        run_worker()
        assert receiver.connections == 1 and failing.connections == 1

        page.reload()
        expect(page.locator("tr.delivery")).to_have_count(4)
        expect(page.locator("tr.delivery", has_text="deploy bot")).to_contain_text("delivered")
        retry = page.locator("tr.delivery", has_text="old receiver")
        expect(retry).to_contain_text("pending")
        expect(retry).to_contain_text("The receiver answered 500.")
        dash.shoot("notifications", doc=True)

        page.get_by_role("button", name="Remove old receiver").click()
        expect(page.locator("#notifications-panel .flash.success")).to_contain_text(
            "Removed old receiver"
        )
        assert NotificationTarget.objects.count() == 2
    finally:
        receiver.close()
        failing.close()
