"""The Notifications page in a real browser: an admin adds a webhook (its signing secret shown
once, after the redirect) and an e-mail target, the worker delivers a notification to a real
receiver on 127.0.0.1, a failed one waits for its retry in the delivery log; a test send
shows the receiver's answer; a target is edited and removed from a confirmation page; the
Events fieldset is a grid of grouped checkboxes with help, at 1,280 and 390 px."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from notifications import services as notifications
from notifications.models import NotificationTarget
from tests.browser.conftest import Dashboard
from tests.conftest import Personas
from tests.listener import Listener, http_answer
from tests.test_notifications import requests_of, verify
from tests.worker import run_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def loopback(settings) -> None:
    settings.WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]


def test_targets_and_the_delivery_log(dash: Dashboard, personas: Personas, loopback) -> None:
    """Item 7: targets added (the secret shown once: a reload does not show it), deliveries
    sent by the worker and their failures in the log, a target removed after confirming."""
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
        expect(page.locator("#messages .flash.success")).to_have_text("Added deploy bot.")
        expect(page.locator("#signing-secret")).to_contain_text("whsec_")
        page.reload()
        expect(page.locator("tr.target")).to_have_count(1)
        expect(page.locator("#signing-secret")).to_have_count(0)

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

        page.get_by_role("link", name="Remove old receiver").click()
        expect(page.locator("h1")).to_have_text("Remove old receiver?")
        expect(page.locator(".danger-zone")).to_contain_text("1 delivery, of which 1 not sent")
        page.get_by_role("button", name="Remove old receiver").click()
        expect(page.locator("#messages .flash.success")).to_contain_text("Removed old receiver")
        assert NotificationTarget.objects.count() == 2
    finally:
        receiver.close()
        failing.close()


def test_send_a_test_shows_the_answer_then_edit_to_slack(
    dash: Dashboard, personas: Personas, loopback
) -> None:
    """Item 7: "Send a test" shows the test waiting, then (the worker sent it) the
    receiver's status code without a reload; Edit switches the target to the Slack format
    with a new signing secret, and the next test is a signed {text, blocks} message."""
    receiver = Listener(http_answer("202 Accepted"))
    try:
        notifications.target_create(
            actor=personas.admin,
            organization=personas.org,
            kind="webhook",
            name="chat",
            url=f"{receiver.origin}/chat",
            events=["secret.created"],
        )
        dash.sign_in_as(personas.admin)
        page = dash.goto(f"/orgs/{personas.org.pk}/notifications/")
        page.get_by_role("button", name="Send a test to chat").click()
        card = page.locator("#test-result")
        expect(card).to_contain_text("Waiting for the worker")
        expect(page.locator("#messages .flash.success")).to_contain_text("Test queued for chat")
        run_worker()
        expect(card).to_contain_text("The receiver answered HTTP 202.")
        expect(card).to_contain_text("delivered")
        assert receiver.connections == 1

        page.get_by_role("link", name="Edit chat").click()
        expect(page.locator("h1")).to_have_text("Edit chat")
        expect(page.get_by_label("secret.created", exact=False)).to_be_checked()
        page.select_option("#id_format", "slack")
        page.get_by_label("secret.deleted", exact=False).check()
        page.get_by_label("Replace the signing secret").check()
        dash.shoot("notifications-edit")
        page.get_by_role("button", name="Save chat").click()
        expect(page.locator("#messages .flash.success")).to_have_text("Saved chat.")
        secret = page.locator("#signing-secret").inner_text()
        row = page.locator("tr.target", has_text="chat")
        expect(row).to_contain_text("Slack-compatible")
        expect(row).to_contain_text("secret.deleted")

        page.get_by_role("button", name="Send a test to chat").click()
        expect(card).to_contain_text("Waiting for the worker")
        run_worker()
        expect(card).to_contain_text("The receiver answered HTTP 202.")
        _, headers, body = requests_of(receiver)[1]
        assert verify(secret, headers, body)
        message = json.loads(body)
        assert message["text"] == "[org-a] Test notification for chat" and message["blocks"]
    finally:
        receiver.close()


def test_events_fieldset_is_a_grid_of_grouped_choices_with_help(
    narrow: Dashboard, personas: Personas, loopback
) -> None:
    """Item 8 (Events fieldset): grouped checkboxes with their help, values read marked
    opt-in, laid out as a grid that fits a 390 px phone, as do the targets' actions."""
    notifications.target_create(
        actor=personas.admin,
        organization=personas.org,
        kind="webhook",
        name="a receiver with a long name",
        url="http://127.0.0.1:9/a/rather/long/path/for/the/receiver/of/notifications",
        events=["secret.created", "secret.deleted", "installation.removed"],
    )
    narrow.sign_in_as(personas.admin)
    page = narrow.goto(f"/orgs/{personas.org.pk}/notifications/")
    fieldset = page.locator("fieldset.events-field")
    titles = fieldset.locator(".event-group-title").all_inner_texts()
    assert titles[:3] == ["MEMBERS", "SECRETS", "INSTALLED COPIES"]
    read = fieldset.locator(".event-choice", has_text="secret.read")
    expect(read).to_contain_text("opt-in")
    expect(read).to_contain_text("Someone was shown values of a secret")
    grid = fieldset.locator(".event-grid").first
    assert grid.evaluate("e => getComputedStyle(e).display") == "grid"
    read.locator("label").click()
    expect(read.locator("input")).to_be_checked()
    assert narrow.fits_width()
    expect(
        page.get_by_role("button", name="Send a test to a receiver with a long name")
    ).to_be_visible()
    narrow.shoot("notifications-events-narrow")
