"""The Notifications page of the dashboard: admins add and remove targets and read the
delivery log; a webhook's signing secret is shown once."""

from __future__ import annotations

import pytest
from django.test import Client

from audit.models import AuditEvent
from notifications import services as notifications
from notifications.models import NotificationTarget
from tests.conftest import Personas
from tests.test_dashboard import signed_in
from tests.test_dashboard_orgs import assert_every_input_labelled

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def page_url(personas: Personas, suffix: str = "") -> str:
    return f"/orgs/{personas.org.pk}/notifications/{suffix}"


def test_only_admins_see_the_page_and_the_tab(personas: Personas) -> None:
    admin = signed_in(personas, "admin")
    html = admin.get(page_url(personas)).content.decode()
    assert "<h1>Notifications</h1>" in html and "No targets yet" in html
    assert_every_input_labelled(html)
    assert f'href="/orgs/{personas.org.pk}/notifications/"' in html
    for persona in ("member", "viewer"):
        client = signed_in(personas, persona)
        assert client.get(page_url(personas)).status_code == 403
        assert client.post(page_url(personas, "add/"), {"kind": "email"}).status_code == 403
        members = client.get(f"/orgs/{personas.org.pk}/members/").content.decode()
        assert "/notifications/" not in members
    assert signed_in(personas, "outsider").get(page_url(personas)).status_code == 404
    anonymous = Client().get(page_url(personas))
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    assert not NotificationTarget.objects.exists()


def secret_shown(html: str) -> str | None:
    if 'id="signing-secret"' not in html:
        return None
    return html.split('id="signing-secret"', 1)[1].split(">", 1)[1].split("<", 1)[0]


def test_adding_a_webhook_redirects_and_the_list_shows_its_secret_once(
    personas: Personas, settings
) -> None:
    """Item 7 (and the post/redirect/get contract): the add answers a redirect; the GET it
    leads to shows the signing secret once (no-store), a reload shows it no more."""
    settings.WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]
    admin = signed_in(personas, "admin")
    response = admin.post(
        page_url(personas, "add/"),
        {
            "kind": "webhook",
            "name": "ci hook",
            "url": "http://127.0.0.1:9/hook",
            "format": "slack",
            "events": ["secret.rotated", "installation.sync_failed"],
        },
    )
    assert response.status_code == 302 and response["Location"] == page_url(personas)
    assert "whsec_" not in str(dict(admin.session))
    target = NotificationTarget.objects.get()
    assert target.events == ["installation.sync_failed", "secret.rotated"]
    assert target.format == "slack"
    shown = admin.get(page_url(personas))
    secret = secret_shown(shown.content.decode())
    assert secret is not None and secret.startswith("whsec_")
    assert "no-store" in shown["Cache-Control"] and "Added ci hook." in shown.content.decode()
    assert secret not in target.signing_secret_encrypted
    assert notifications.signing_secret(target) == secret
    again = admin.get(page_url(personas)).content.decode()
    assert "ci hook" in again and secret_shown(again) is None and "Slack-compatible" in again
    # Through htmx the add answers a client redirect to the same page.
    response = admin.post(
        page_url(personas, "add/"),
        {"kind": "email", "name": "ops", "emails": "ops@example.com", "format": "generic"},
        headers=HTMX,
    )
    assert response.status_code == 200 and response["HX-Redirect"] == page_url(personas)
    assert NotificationTarget.objects.get(name="ops").format == "generic"


def test_bad_input_shows_field_errors_and_writes_nothing(personas: Personas) -> None:
    admin = signed_in(personas, "admin")
    cases = [
        ({"kind": "webhook", "name": "x", "url": "http://127.0.0.1:9/"}, "does not send webhooks"),
        ({"kind": "email", "name": "x", "emails": "ok@x.io, nope"}, "valid e-mail"),
        ({"kind": "webhook", "name": "x"}, "Give the URL"),
    ]
    for data, message in cases:
        html = admin.post(page_url(personas, "add/"), data, headers=HTMX).content.decode()
        assert message in html and "has-error" in html
    assert not NotificationTarget.objects.exists()


def test_removing_a_target_asks_first_with_its_log_in_numbers(
    personas: Personas, mailoutbox
) -> None:
    """Item 7 (and the confirmation contract): Remove is a link to a page that says what
    goes (the log, the deliveries not sent yet); its POST removes and redirects."""
    target, _ = notifications.target_create(
        actor=personas.admin,
        organization=personas.org,
        kind="email",
        name="ops mail",
        emails=["ops@example.com"],
    )
    notifications.notify(
        organization=personas.org,
        event="secret.expiring",
        subject="tls-cert expires in 12 days",
        detail={"secretName": "tls-cert", "version": 2},
    )
    admin = signed_in(personas, "admin")
    html = admin.get(page_url(personas)).content.decode()
    assert "tls-cert expires in 12 days" in html and "pending" in html
    assert "ops@example.com" in html and "hx-confirm" not in html
    assert f'href="{page_url(personas, f"{target.pk}/remove/")}"' in html
    confirm = admin.get(page_url(personas, f"{target.pk}/remove/")).content.decode()
    assert "Remove ops mail?" in confirm
    assert "1 delivery</strong>, of which <strong>1</strong> not sent yet" in confirm
    assert NotificationTarget.objects.exists()
    removed = admin.post(page_url(personas, f"{target.pk}/remove/"))
    assert removed.status_code == 302 and removed["Location"] == page_url(personas)
    assert "Removed ops mail" in admin.get(page_url(personas)).content.decode()
    assert not NotificationTarget.objects.exists()
    assert AuditEvent.objects.filter(action="notification.target_remove").exists()
    # Another org's target id through this org's URL: 404.
    theirs, _ = notifications.target_create(
        actor=personas.outsider,
        organization=personas.other_org,
        kind="email",
        name="b",
        emails=["b@x.io"],
    )
    for suffix in ("remove/", "edit/", "test/"):
        assert admin.post(page_url(personas, f"{theirs.pk}/{suffix}")).status_code == 404
    assert admin.get(page_url(personas, f"{theirs.pk}/remove/")).status_code == 404
    assert NotificationTarget.objects.filter(pk=theirs.pk).exists()
