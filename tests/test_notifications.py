"""Notifications: targets (e-mail, webhooks) per organization, signed webhooks sent by the
worker to a real HTTP receiver on 127.0.0.1, retries with backoff (a worker run's clock
injected), the delivery log, and the outbound rules that keep webhooks off loopback and
private networks."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import AuditEvent
from notifications import sending as send
from notifications import services as notifications
from notifications import tasks
from notifications import webhooks as http
from notifications.models import NotificationDelivery, NotificationTarget
from pipeline_secrets.core import periodic
from tests.helpers import assert_problem, check_access
from tests.listener import Listener, http_answer
from tests.worker import queued, run_worker

pytestmark = pytest.mark.django_db


def targets_url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/notification-targets"


def deliveries_url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/notification-deliveries"


def parse_request(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, body


def requests_of(listener: Listener) -> list[tuple[str, dict[str, str], bytes]]:
    """Each HTTP request the listener received (one per connection, ``Connection: close``)."""
    chunks = [c for c in listener.received.split(b"POST ") if c]
    return [parse_request(b"POST " + chunk) for chunk in chunks]


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    timestamp = headers["x-pipeline-timestamp"]
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(headers["x-pipeline-signature"], f"sha256={mac.hexdigest()}")


@pytest.fixture
def receiver():
    listener = Listener(http_answer("204 No Content"))
    yield listener
    listener.close()


@pytest.fixture
def allow_loopback(settings):
    """The operator's allow-list lets the test receiver on 127.0.0.1 through."""
    settings.WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]


def add_webhook(client, org_id: int, url: str, **extra) -> dict:
    response = client.post(
        targets_url(org_id), {"kind": "webhook", "name": "ci", "url": url, **extra}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def notify_rotated(org, **detail) -> None:
    notifications.notify(
        organization=org,
        event="secret.rotated",
        subject="db-password was rotated",
        detail={"secretId": "ab" * 32, "secretName": "db-password", "version": 3, **detail},
    )


# --------------------------------------------------------------------------- access


def test_targets_list_and_create_are_admin_only(personas, clients, allow_loopback):
    org = personas.org.pk
    check_access(clients, "get", targets_url(org), allowed=("admin",), ok=200)
    responses = check_access(
        clients,
        "post",
        targets_url(org),
        allowed=("admin",),
        ok=201,
        body={"kind": "email", "name": "ops", "emails": ["ops@example.com"]},
    )
    created = responses["admin"].json()
    assert created["emails"] == ["ops@example.com"] and "signingSecret" not in created
    assert NotificationTarget.objects.for_org(personas.org).count() == 1


def test_delete_is_admin_only_and_another_orgs_target_is_404(personas, clients):
    mine, _ = notifications.target_create(
        actor=personas.admin, organization=personas.org, kind="email", name="a", emails=["a@x.io"]
    )
    theirs, _ = notifications.target_create(
        actor=personas.outsider,
        organization=personas.other_org,
        kind="email",
        name="b",
        emails=["b@x.io"],
    )
    # The outsider's own org URL with org A's target id: 404, and the target stays.
    wrong = clients["outsider"].delete(f"{targets_url(personas.other_org.pk)}/{mine.pk}")
    assert_problem(wrong, 404)
    check_access(
        clients, "delete", f"{targets_url(personas.org.pk)}/{mine.pk}", allowed=("admin",), ok=204
    )
    assert not NotificationTarget.objects.filter(pk=mine.pk).exists()
    assert NotificationTarget.objects.filter(pk=theirs.pk).exists()
    actions = list(
        AuditEvent.objects.filter(
            organization=personas.org, action__startswith="notification."
        ).values_list("action", flat=True)
    )
    assert actions == ["notification.target_remove", "notification.target_add"]


def test_delivery_log_is_admin_only_and_scoped(personas, clients):
    notifications.target_create(
        actor=personas.admin, organization=personas.org, kind="email", name="a", emails=["a@x.io"]
    )
    notifications.target_create(
        actor=personas.outsider,
        organization=personas.other_org,
        kind="email",
        name="b",
        emails=["b@x.io"],
    )
    notify_rotated(personas.org)
    notify_rotated(personas.other_org)
    responses = check_access(
        clients, "get", deliveries_url(personas.org.pk), allowed=("admin",), ok=200
    )
    log = responses["admin"].json()
    assert [(d["event"], d["status"], d["targetName"]) for d in log] == [
        ("secret.rotated", "pending", "a")
    ]
    assert log[0]["detail"] == {"secretId": "ab" * 32, "secretName": "db-password", "version": 3}
    assert_problem(clients["admin"].get(deliveries_url(personas.org.pk) + "?limit=0"), 400)


# --------------------------------------------------------------------------- webhooks


@pytest.mark.django_db(transaction=True)
def test_webhook_receiver_gets_a_correctly_signed_notification(
    personas, clients, allow_loopback, receiver
):
    created = add_webhook(clients["admin"], personas.org.pk, f"{receiver.origin}/hook?x=1")
    secret = created["signingSecret"]
    assert secret.startswith("whsec_")
    # Shown once: the list does not have it, and the database holds it encrypted only.
    listed = clients["admin"].get(targets_url(personas.org.pk)).json()
    assert "signingSecret" not in listed[0]
    row = NotificationTarget.objects.get(pk=created["id"])
    assert secret not in row.signing_secret_encrypted and row.signing_secret_encrypted

    notify_rotated(personas.org, trigger="schedule")
    # Recorded and queued, not sent: the worker sends it.
    assert receiver.connections == 0 and queued() == 1
    assert run_worker() == 1

    assert receiver.connections == 1
    [(line, headers, body)] = requests_of(receiver)
    assert line == "POST /hook?x=1 HTTP/1.1"
    assert headers["content-type"] == "application/json"
    assert headers["x-pipeline-event"] == "secret.rotated"
    assert verify(secret, headers, body)
    assert not verify("whsec_wrong", headers, body)
    sent = json.loads(body)
    assert sent["event"] == "secret.rotated" and sent["organization"]["id"] == personas.org.pk
    assert sent["detail"]["secretName"] == "db-password" and sent["detail"]["trigger"] == "schedule"
    log = clients["admin"].get(deliveries_url(personas.org.pk)).json()
    assert (log[0]["status"], log[0]["attempts"], log[0]["responseCode"]) == ("delivered", 1, 204)


def test_failed_webhook_is_retried_by_the_job_after_its_backoff(
    personas, clients, allow_loopback, receiver
):
    created = add_webhook(clients["admin"], personas.org.pk, receiver.origin)
    receiver.answer = http_answer("500 Internal Server Error", "a body we never keep")
    notify_rotated(personas.org)
    now = timezone.now()

    assert send.send_due(now) == {
        "delivered": 0,
        "retrying": 1,
        "failed": 0,
        "deferred": 0,
    }
    item = NotificationDelivery.objects.get()
    assert (item.status, item.attempts, item.response_code) == ("pending", 1, 500)
    assert item.next_attempt_at == now + send.backoff(1) == now + timedelta(seconds=30)
    assert "never keep" not in item.last_error and item.last_error

    receiver.answer = http_answer("200 OK")
    # The periodic job queues a worker run once the backoff has passed, not before.
    assert tasks.enqueue_due(now + timedelta(seconds=29)) == {"runs": 0, "due": 0}
    assert tasks.enqueue_due(now + timedelta(seconds=30)) == {"runs": 1, "due": 1}
    assert tasks.enqueue_due(now + timedelta(seconds=31)) == {"runs": 0, "due": 0}
    # Not before the backoff has passed: nothing is sent.
    assert send.send_due(now + timedelta(seconds=29)) == {
        "delivered": 0,
        "retrying": 0,
        "failed": 0,
        "deferred": 0,
    }
    assert receiver.connections == 1
    assert send.send_due(now + timedelta(seconds=30))["delivered"] == 1
    assert receiver.connections == 2
    item.refresh_from_db()
    assert (item.status, item.attempts, item.response_code, item.last_error) == (
        "delivered",
        2,
        200,
        "",
    )
    first, second = requests_of(receiver)
    assert first[2] == second[2]  # the same body, signed again
    assert verify(created["signingSecret"], second[1], second[2])
    # Nothing is due any more.
    assert send.send_due(now + timedelta(hours=2))["delivered"] == 0


def test_backoff_doubles_and_the_job_gives_up_after_max_attempts(
    personas, clients, allow_loopback, receiver
):
    add_webhook(clients["admin"], personas.org.pk, receiver.origin)
    receiver.answer = http_answer("503 Service Unavailable")
    notify_rotated(personas.org)
    now = timezone.now()
    waits = []
    for _ in range(send.MAX_ATTEMPTS):
        send.send_due(now)
        item = NotificationDelivery.objects.get()
        if item.next_attempt_at is None:
            break
        waits.append(item.next_attempt_at - now)
        now = item.next_attempt_at
    assert waits[:3] == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert (item.status, item.attempts) == ("failed", send.MAX_ATTEMPTS)
    assert receiver.connections == send.MAX_ATTEMPTS


def test_a_claimed_delivery_is_sent_by_one_runner_only(personas, clients, allow_loopback, receiver):
    add_webhook(clients["admin"], personas.org.pk, receiver.origin)
    notify_rotated(personas.org)
    pk = NotificationDelivery.objects.get().pk
    now = timezone.now()
    assert send.claim(pk, now) is not None
    # A second runner at the same moment finds it taken; after the lease it may take over.
    assert send.claim(pk, now) is None
    assert send.send_due(now)["delivered"] == 0
    assert send.claim(pk, now + send.LEASE) is not None
    assert receiver.connections == 0


def test_webhook_to_loopback_is_refused_without_the_allow_list(personas, clients, settings):
    listener = Listener(http_answer("204 No Content"))
    try:
        for url in (listener.origin, f"http://localhost:{listener.port}/x"):
            response = clients["admin"].post(
                targets_url(personas.org.pk),
                {"kind": "webhook", "name": "inside", "url": url},
                format="json",
            )
            body = assert_problem(response, 400, field="url")
            assert "does not send webhooks" in body["errors"]["url"][0]
        assert not NotificationTarget.objects.exists()

        # A target saved while the operator allowed it is refused once the allow-list goes.
        settings.WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]
        add_webhook(clients["admin"], personas.org.pk, listener.origin)
        settings.WEBHOOK_ALLOW_NETWORKS = []
        notify_rotated(personas.org)
        assert send.send_due(timezone.now())["retrying"] == 1
        item = NotificationDelivery.objects.get()
        assert "does not send webhooks" in item.last_error and item.response_code is None
        assert listener.connections == 0
    finally:
        listener.close()


def test_the_allow_list_never_overrides_outbound_deny_networks(personas, clients, settings):
    settings.WEBHOOK_ALLOW_NETWORKS = ["127.0.0.0/8"]
    settings.OUTBOUND_DENY_NETWORKS = ["127.0.0.0/8"]
    response = clients["admin"].post(
        targets_url(personas.org.pk),
        {"kind": "webhook", "name": "x", "url": "http://127.0.0.1:9/"},
        format="json",
    )
    assert_problem(response, 400, field="url")


def test_redirects_are_answers_not_followed(personas, clients, allow_loopback):
    other = Listener(http_answer("200 OK"))
    redirector = Listener(http_answer("302 Found", Location=f"{other.origin}/"))
    try:
        add_webhook(clients["admin"], personas.org.pk, redirector.origin)
        notify_rotated(personas.org)
        send.send_due(timezone.now())
        item = NotificationDelivery.objects.get()
        assert (item.status, item.response_code) == ("pending", 302)
        assert other.connections == 0
    finally:
        other.close()
        redirector.close()


# --------------------------------------------------------------------------- e-mail, events


def test_email_target_gets_the_notification_through_djangos_backend(personas, clients):
    clients["admin"].post(
        targets_url(personas.org.pk),
        {"kind": "email", "name": "ops", "emails": ["ops@example.com", "sec@example.com"]},
        format="json",
    )
    notify_rotated(personas.org)
    assert send.send_due(timezone.now())["delivered"] == 1
    [message] = mail.outbox
    assert message.to == ["ops@example.com", "sec@example.com"]
    assert message.subject == "[org-a] db-password was rotated"
    assert "secretName: db-password" in message.body and "version: 3" in message.body


def test_targets_get_only_the_events_they_asked_for(personas, clients):
    response = clients["admin"].post(
        targets_url(personas.org.pk),
        {"kind": "email", "name": "ops", "emails": ["o@x.io"], "events": ["secret.expiring"]},
        format="json",
    )
    assert response.json()["events"] == ["secret.expiring"]
    notify_rotated(personas.org)
    assert not NotificationDelivery.objects.exists()
    notifications.notify(
        organization=personas.org,
        event="secret.expiring",
        subject="tls expires soon",
        detail={"secretName": "tls", "notAfter": timezone.now()},
    )
    assert NotificationDelivery.objects.get().event == "secret.expiring"


@pytest.mark.parametrize(
    "detail",
    [
        {"values": {"password": "hunter2"}},
        {"secretName": {"password": "hunter2"}},
        {"secretName": "x" * 301},
        {"password": "hunter2"},
    ],
)
def test_a_value_can_never_be_sent(personas, detail):
    notifications.target_create(
        actor=personas.admin, organization=personas.org, kind="email", name="a", emails=["a@x.io"]
    )
    with pytest.raises(ValueError):
        notifications.notify(
            organization=personas.org, event="secret.rotated", subject="s", detail=detail
        )
    with pytest.raises(ValueError):
        notifications.notify(organization=personas.org, event="nope", subject="s", detail={})
    assert not NotificationDelivery.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "pager", "name": "x"}, "kind"),
        ({"kind": "webhook", "name": "x"}, "url"),
        ({"kind": "webhook", "name": "x", "url": "ftp://example.com/"}, "url"),
        ({"kind": "webhook", "name": "x", "url": "https://u:p@example.com/"}, "url"),
        ({"kind": "email", "name": "x", "emails": []}, "emails"),
        ({"kind": "email", "name": "x", "emails": ["ok@x.io", "not-an-address"]}, "emails.1"),
        ({"kind": "email", "name": "x", "emails": ["a@x.io"], "events": ["nope"]}, "events.0"),
        ({"kind": "email", "name": " ", "emails": ["a@x.io"]}, "name"),
        ({"kind": "email", "name": 5, "emails": ["a@x.io"]}, "name"),
    ],
)
def test_bad_target_is_a_field_error_and_nothing_is_written(personas, clients, body, field):
    assert_problem(
        clients["admin"].post(targets_url(personas.org.pk), body, format="json"), 400, field=field
    )
    assert not NotificationTarget.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="notification.").exists()


def test_the_job_is_registered_and_costs_one_query_when_nothing_is_due(
    personas, django_assert_num_queries
):
    assert "notifications" in [job.name for job in periodic.jobs()]
    with django_assert_num_queries(1):
        assert tasks.enqueue_due(timezone.now()) == {"runs": 0, "due": 0}
    with django_assert_num_queries(1):
        assert send.send_due(timezone.now())["delivered"] == 0


def test_signing_secret_survives_a_key_rotation_through_fallbacks(personas, settings):
    sealed = send.encrypt_secret("whsec_x", organization_id=personas.org.pk)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "x" * 40
    assert send.decrypt_secret(sealed, organization_id=personas.org.pk) == "whsec_x"
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(http.WebhookError):
        send.decrypt_secret(sealed, organization_id=personas.org.pk)
