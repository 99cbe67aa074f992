"""Item 7: a target can be tested (a ``test`` notification sent now by the worker, its result
shown: the receiver's status code or the error) and edited (URL, events, format, a new
signing secret), on the dashboard and through the API; receivers are real listeners on
127.0.0.1 and the worker is the real one."""

from __future__ import annotations

import re

import pytest

from audit.models import AuditEvent
from notifications import services as notifications
from notifications.models import NotificationDelivery, NotificationTarget
from tests.conftest import Personas
from tests.helpers import assert_problem, check_access
from tests.listener import Listener, http_answer
from tests.test_dashboard import signed_in
from tests.test_notifications import requests_of, verify
from tests.worker import run_worker

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HX-Request": "true"}


def page_url(personas: Personas, suffix: str = "") -> str:
    return f"/orgs/{personas.org.pk}/notifications/{suffix}"


def api_url(personas: Personas, suffix: str = "") -> str:
    return f"/api/v1/orgs/{personas.org.pk}/notification-targets{suffix}"


@pytest.fixture
def loopback(settings) -> None:
    settings.WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]


def hook(personas: Personas, url: str, **extra) -> tuple[NotificationTarget, str | None]:
    return notifications.target_create(
        actor=personas.admin,
        organization=personas.org,
        kind="webhook",
        name=extra.pop("name", "deploy bot"),
        url=url,
        **extra,
    )


def test_send_a_test_shows_the_receivers_status_code(personas: Personas, loopback) -> None:
    """Item 7: "Send a test" queues a test event, redirects to the page that shows its
    result; the worker sends it; the result card then shows the receiver's answer."""
    receiver = Listener(http_answer("202 Accepted"))
    try:
        target, raw = hook(personas, f"{receiver.origin}/in", events=["secret.created"])
        admin = signed_in(personas, "admin")
        response = admin.post(page_url(personas, f"{target.pk}/test/"))
        delivery = NotificationDelivery.objects.get()
        assert response.status_code == 302
        assert response["Location"] == page_url(personas, f"?test={delivery.pk}#test-result")
        waiting = admin.get(page_url(personas, f"?test={delivery.pk}")).content.decode()
        assert "Test of deploy bot" in waiting and "Waiting for the worker" in waiting
        assert f'hx-get="{page_url(personas, f"deliveries/{delivery.pk}/")}?asked=1"' in waiting
        assert receiver.connections == 0
        # Polled for a minute and still not sent: the card stops asking and says why.
        late = admin.get(page_url(personas, f"deliveries/{delivery.pk}/?asked=60"), headers=HTMX)
        assert "is the task worker" in late.content.decode().lower()
        assert "hx-get" not in late.content.decode()

        run_worker()
        [(_, headers, body)] = requests_of(receiver)
        assert headers["x-pipeline-event"] == "test" and verify(str(raw), headers, body)
        card = admin.get(page_url(personas, f"deliveries/{delivery.pk}/"), headers=HTMX)
        html = card.content.decode()
        assert "HTTP 202" in html and "delivered" in html and "hx-get" not in html
        assert "<html" not in html  # the card alone, for htmx to swap
        # A reload of the result page sends nothing again.
        admin.get(page_url(personas, f"?test={delivery.pk}"))
        run_worker()
        assert receiver.connections == 1 and NotificationDelivery.objects.count() == 1
        assert AuditEvent.objects.filter(action="notification.target_test").count() == 1
    finally:
        receiver.close()


def test_a_failed_test_shows_the_error(personas: Personas, loopback) -> None:
    """Item 7: a receiver that answers 500, and one that is gone: the card says so."""
    failing = Listener(http_answer("500 Internal Server Error", "stack trace we never keep"))
    gone = Listener(http_answer("204 No Content"))
    gone_url = gone.origin
    gone.close()
    try:
        broken, _ = hook(personas, failing.origin, name="broken")
        closed, _ = hook(personas, gone_url, name="closed")
        admin = signed_in(personas, "admin")
        first = notifications.target_test(
            actor=personas.admin, organization=personas.org, target_id=broken.pk
        )
        second = notifications.target_test(
            actor=personas.admin, organization=personas.org, target_id=closed.pk
        )
        run_worker()
        html = admin.get(page_url(personas, f"deliveries/{first.pk}/")).content.decode()
        assert "HTTP 500" in html and "The receiver answered 500." in html
        assert "never keep" not in html and "next try" in html
        html = admin.get(page_url(personas, f"deliveries/{second.pk}/")).content.decode()
        assert "Sending to 127.0.0.1 failed" in html and "HTTP" not in html
    finally:
        failing.close()


def test_editing_a_webhook_changes_url_events_format_and_secret(
    personas: Personas, loopback
) -> None:
    """Item 7: the edit form shows the target as it is; saving changes the URL, the events
    and the format; a new signing secret is shown once after the redirect and the old one no
    longer verifies."""
    old_receiver = Listener(http_answer("204 No Content"))
    new_receiver = Listener(http_answer("204 No Content"))
    try:
        target, old_secret = hook(personas, old_receiver.origin, events=["secret.created"])
        admin = signed_in(personas, "admin")
        form = admin.get(page_url(personas, f"{target.pk}/edit/")).content.decode()
        assert f'value="{old_receiver.origin}"' in form
        assert re.search(r'value="secret.created"[^>]* checked>', form)
        assert not re.search(r'value="secret.rotated"[^>]* checked>', form)
        assert 'name="kind"' not in form and 'name="emails"' not in form

        response = admin.post(
            page_url(personas, f"{target.pk}/edit/"),
            {
                "name": "deploy bot",
                "url": f"{new_receiver.origin}/v2",
                "events": ["secret.rotated"],
                "format": "slack",
                "new_secret": "on",
            },
        )
        assert response.status_code == 302 and response["Location"] == page_url(personas)
        listed = admin.get(page_url(personas)).content.decode()
        new_secret = listed.split('id="signing-secret"', 1)[1].split(">", 1)[1].split("<", 1)[0]
        assert new_secret.startswith("whsec_") and new_secret != old_secret
        assert "Saved deploy bot." in listed
        assert 'id="signing-secret"' not in admin.get(page_url(personas)).content.decode()
        target.refresh_from_db()
        assert (target.url, target.events, target.format) == (
            f"{new_receiver.origin}/v2",
            ["secret.rotated"],
            "slack",
        )
        event = AuditEvent.objects.get(action="notification.target_update")
        assert event.detail["fields"] == ["url", "events", "format", "signing secret"]

        notifications.target_test(
            actor=personas.admin, organization=personas.org, target_id=target.pk
        )
        run_worker()
        assert old_receiver.connections == 0
        [(line, headers, body)] = requests_of(new_receiver)
        assert line.startswith("POST /v2 ")
        assert verify(new_secret, headers, body) and not verify(str(old_secret), headers, body)
        assert b'"blocks"' in body
    finally:
        old_receiver.close()
        new_receiver.close()


def test_a_bad_edit_is_a_field_error_and_changes_nothing(personas: Personas, loopback) -> None:
    """Item 7: a refused URL on the edit form is shown on its field; the target stays."""
    target, _ = hook(personas, "http://127.0.0.1:9/ok", events=["secret.created"])
    email, _ = notifications.target_create(
        actor=personas.admin, organization=personas.org, kind="email", name="ops", emails=["o@x.io"]
    )
    admin = signed_in(personas, "admin")
    html = admin.post(
        page_url(personas, f"{target.pk}/edit/"),
        {"name": "renamed", "url": "http://10.1.2.3/x", "events": ["nope"], "format": "slack"},
    ).content.decode()
    assert "Select a valid choice" in html and "has-error" in html
    html = admin.post(
        page_url(personas, f"{target.pk}/edit/"), {"name": "renamed", "url": "http://10.1.2.3/x"}
    ).content.decode()
    assert "does not send webhooks" in html and 'id="id_url_error"' in html
    target.refresh_from_db()
    assert (target.name, target.url) == ("deploy bot", "http://127.0.0.1:9/ok")
    # An e-mail target's form has addresses, no URL, format or secret.
    form = admin.get(page_url(personas, f"{email.pk}/edit/")).content.decode()
    assert "o@x.io" in form and 'name="url"' not in form and 'name="new_secret"' not in form
    assert not AuditEvent.objects.filter(action="notification.target_update").exists()


def test_the_api_edits_and_tests_a_target(personas: Personas, clients, loopback) -> None:
    """Item 7, API: PATCH keeps absent fields, a new signing secret is in its answer only;
    POST .../test answers 202 with the queued delivery; both admin only."""
    receiver = Listener(http_answer("204 No Content"))
    try:
        target, _ = hook(personas, receiver.origin, events=["secret.created"])
        responses = check_access(
            clients,
            "patch",
            api_url(personas, f"/{target.pk}"),
            allowed=("admin",),
            ok=200,
            body={"events": ["secret.read"], "format": "slack", "newSigningSecret": True},
        )
        changed = responses["admin"].json()
        assert changed["events"] == ["secret.read"] and changed["format"] == "slack"
        assert changed["url"] == receiver.origin and changed["signingSecret"].startswith("whsec_")
        bad = clients["admin"].patch(
            api_url(personas, f"/{target.pk}"), {"format": "xml"}, format="json"
        )
        assert_problem(bad, 400, field="format")
        tested = check_access(
            clients, "post", api_url(personas, f"/{target.pk}/test"), allowed=("admin",), ok=202
        )["admin"].json()
        assert (tested["event"], tested["status"], tested["targetName"]) == (
            "test",
            "pending",
            "deploy bot",
        )
        run_worker()
        [(_, headers, body)] = requests_of(receiver)
        assert verify(changed["signingSecret"], headers, body)
        log = clients["admin"].get(f"/api/v1/orgs/{personas.org.pk}/notification-deliveries").json()
        assert (log[0]["status"], log[0]["responseCode"]) == ("delivered", 204)
    finally:
        receiver.close()


def test_an_email_target_gets_its_test_by_mail(personas: Personas, mailoutbox) -> None:
    """Item 7: a test of an e-mail target is a mail sent by the worker; the card says it was
    handed to the mail server."""
    target, _ = notifications.target_create(
        actor=personas.admin,
        organization=personas.org,
        kind="email",
        name="ops",
        emails=["ops@example.com"],
    )
    admin = signed_in(personas, "admin")
    admin.post(page_url(personas, f"{target.pk}/test/"))
    assert mailoutbox == []
    run_worker()
    [message] = mailoutbox
    assert message.to == ["ops@example.com"]
    assert message.subject == "[org-a] Test notification for ops"
    assert "Event: test (A test, sent from the Notifications page or the API.)" in message.body
    delivery = NotificationDelivery.objects.get()
    html = admin.get(page_url(personas, f"?test={delivery.pk}")).content.decode()
    assert "Handed to the mail server." in html
