"""Outbound deliveries, replayed against the real stack (OpenBao, the task worker, receivers
on 127.0.0.1): no request and no periodic run waits on a tenant's receiver, one tenant's
stuck receivers do not starve another's in a worker run, and webhook URLs that reach a
refused address through an IPv6 wrapping, or whose host does not resolve, are refused when
saved."""

from __future__ import annotations

import hashlib
import hmac
import io
import ipaddress
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connections, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from notifications import services as notifications
from notifications.models import NotificationDelivery, NotificationTarget
from pipeline_secrets.core import outbound, queue
from secrets_app.models import SecretIndex
from tests.helpers import assert_problem
from tests.listener import Listener, http_answer
from tests.worker import queued, run_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def held():
    """Webhook receivers on 127.0.0.1 that read each request and answer none (204) until the
    test releases them."""
    made: list[Listener] = []

    def make() -> Listener:
        made.append(Listener(http_answer("204 No Content"), held=True))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def allow_loopback(settings):
    """The operator's allow-list lets the test receivers on 127.0.0.1 through."""
    settings.WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]


def add_webhook(client, org_id: int, url: str) -> str:
    response = client.post(
        f"/api/v1/orgs/{org_id}/notification-targets",
        {"kind": "webhook", "name": url[-12:], "url": url, "events": ["secret.rotated"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    return str(response.json()["signingSecret"])


def signed_by(secret: str, request: bytes) -> bool:
    head, _, body = request.partition(b"\r\n\r\n")
    headers = dict(
        (name.strip().lower(), value.strip())
        for name, _, value in (line.decode().partition(":") for line in head.split(b"\r\n")[1:])
    )
    timestamp = headers["x-pipeline-timestamp"]
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(headers["x-pipeline-signature"], f"sha256={mac.hexdigest()}")


def create_password(client, org_id: int, **extra) -> dict:
    response = client.post(
        f"/api/v1/orgs/{org_id}/secrets",
        {"name": "db", "type": "password", "values": {"username": "u"}, **extra},
        format="json",
    )
    assert response.status_code == 201, response.content
    return dict(response.json())


def notify_rotated(org) -> None:
    notifications.notify(
        organization=org,
        event="secret.rotated",
        subject="db was rotated",
        detail={"secretName": "db", "version": 2},
    )


# --------------------------------------------------------------------------- finding 7


@pytest.mark.django_db(transaction=True)
def test_rotate_answers_while_receivers_hold_and_the_worker_then_delivers(
    vault, personas, clients, allow_loopback, held
):
    org = personas.org.pk
    receivers = [held() for _ in range(3)]
    secrets = [add_webhook(clients["admin"], org, f"{r.origin}/hook") for r in receivers]
    created = create_password(clients["member"], org)

    response = clients["member"].post(f"/api/v1/orgs/{org}/secrets/{created['id']}/rotate")

    # The answer came back while every receiver still holds: nothing was even sent to them.
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2
    assert [(r.connections, r.answered) for r in receivers] == [(0, 0)] * 3
    rows = NotificationDelivery.objects.filter(organization=personas.org)
    assert sorted(rows.values_list("status", "attempts")) == [("pending", 0)] * 3
    assert queued() == 1  # the task row was committed with the deliveries

    for receiver in receivers:
        receiver.release()
    assert run_worker() == 1
    for receiver, secret in zip(receivers, secrets, strict=True):
        assert receiver.answered == 1
        [request] = receiver.requests
        assert request.startswith(b"POST /hook HTTP/1.1") and signed_by(secret, request)
        assert not signed_by("whsec_wrong", request)
    assert set(rows.values_list("status", "response_code")) == {("delivered", 204)}


@pytest.mark.django_db(transaction=True)
def test_a_notification_and_its_task_commit_together_or_not_at_all(personas, mailoutbox):
    notifications.target_create(
        actor=personas.admin, organization=personas.org, kind="email", name="o", emails=["o@x.io"]
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        notify_rotated(personas.org)
        raise RuntimeError("the change is rolled back")
    assert not NotificationDelivery.objects.exists() and queued() == 0

    notify_rotated(personas.org)
    seen: list[int] = []

    def other_connection() -> None:
        # Another process's view: the deliveries and the task are committed.
        try:
            seen.extend([NotificationDelivery.objects.count(), queued()])
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_connection)
    thread.start()
    thread.join(30)
    assert seen == [1, 1]
    # E-mail goes through the same queue: none is sent until the worker runs.
    assert mail.outbox == []
    run_worker()
    [message] = mail.outbox
    assert message.to == ["o@x.io"] and NotificationDelivery.objects.get().status == "delivered"


def test_periodic_with_a_stuck_receiver_queues_the_rotation_and_sends_nothing(
    vault, personas, clients, allow_loopback, held
):
    org = personas.org.pk
    stuck = held()
    add_webhook(clients["admin"], org, stuck.origin)
    created = create_password(clients["member"], org, rotation={"every": "1h"})
    # A delivery from earlier is due again by the time of the round.
    notify_rotated(personas.org)
    due = timezone.now() + timedelta(hours=1, minutes=1)

    out = io.StringIO()
    call_command("periodic", now=due, stdout=out)

    lines = dict(line.split(": ", 1) for line in out.getvalue().strip().splitlines())
    assert lines["secrets.rotation"] == "queued 1"
    assert lines["notifications"].startswith("runs 1, due ")
    # The round only queued: the worker rotates, the stuck receiver was never connected to.
    assert SecretIndex.objects.get(secret_id=created["id"]).version == 1
    assert stuck.connections == 0
    rows = NotificationDelivery.objects.filter(organization=personas.org)
    assert set(rows.values_list("status", "attempts")) == {("pending", 0)}
    # Queued: by the first notification, by the round's deliveries, by the rotation.
    assert rows.count() == 1 and queued() == 3


@pytest.mark.django_db(transaction=True)
def test_one_orgs_stuck_receivers_do_not_starve_another_orgs_in_a_worker_run(
    personas, clients, allow_loopback, held, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    settings.DELIVERY_TENANT_BUDGET_SECONDS = 0.5
    stuck = [held() for _ in range(3)]
    for receiver in stuck:
        add_webhook(clients["admin"], personas.org.pk, receiver.origin)
    good = Listener(http_answer("204 No Content"))
    try:
        secret = add_webhook(clients["outsider"], personas.other_org.pk, good.origin)
        notify_rotated(personas.org)
        notify_rotated(personas.other_org)
        started = timezone.now()

        run_worker()

        # The other org's webhook arrived, signed, in the same worker run.
        theirs = NotificationDelivery.objects.get(organization=personas.other_org)
        assert (theirs.status, theirs.response_code) == ("delivered", 204)
        assert good.connections == 1 and signed_by(secret, good.received)
        # The first stuck receiver used up org A's budget: its other deliveries are
        # deferred, not tried.
        assert sum(r.connections for r in stuck) == 1
        assert all(r.answered == 0 for r in stuck)
        mine = NotificationDelivery.objects.filter(organization=personas.org)
        tried = mine.get(attempts=1)
        assert tried.status == "pending" and "TimeoutError" in tried.last_error
        deferred = mine.filter(attempts=0)
        assert deferred.count() == 2
        for row in deferred:
            assert row.status == "pending" and row.next_attempt_at is not None
            assert row.next_attempt_at > started
    finally:
        good.close()


# --------------------------------------------------------------------------- finding 12


@pytest.mark.parametrize(
    "wrapped",
    [
        "64:ff9b::7f00:1",  # NAT64 well-known prefix
        "64:ff9b:1::7f00:1",  # NAT64 local-use prefix
        "2002:7f00:1::",  # 6to4
        "::7f00:1",  # IPv4-compatible
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:0:7f00:1",  # IPv4-translated
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    ],
)
def test_ipv4_embedded_in_ipv6_is_judged_as_the_ipv4_address(wrapped, settings):
    deny = outbound.networks_of(settings.WEBHOOK_DENY_NETWORKS)
    assert ipaddress.IPv4Address("127.0.0.1") in outbound.embedded_ipv4(
        ipaddress.IPv6Address(wrapped)
    )
    assert outbound.is_denied(wrapped, deny)
    # A public IPv4 address behind NAT64 or 6to4 stays reachable.
    assert not outbound.is_denied("64:ff9b::808:808", deny)
    assert not outbound.is_denied("2002:808:808::1", deny)


@pytest.mark.parametrize("host", ["[64:ff9b::7f00:1]", "[2002:7f00:1::]"])
def test_webhook_to_loopback_wrapped_in_ipv6_is_refused_at_save(personas, clients, host):
    listener = Listener(http_answer("204 No Content"))
    try:
        url = f"http://{host}:{listener.port}/"
        response = clients["admin"].post(
            f"/api/v1/orgs/{personas.org.pk}/notification-targets",
            {"kind": "webhook", "name": "wrapped", "url": url},
            format="json",
        )
        body = assert_problem(response, 400, field="url")
        assert "does not send webhooks" in body["errors"]["url"][0]
        assert not NotificationTarget.objects.exists()
        assert listener.connections == 0
    finally:
        listener.close()


def test_webhook_host_that_does_not_resolve_is_refused_at_save(personas, clients):
    response = clients["admin"].post(
        f"/api/v1/orgs/{personas.org.pk}/notification-targets",
        {"kind": "webhook", "name": "nowhere", "url": "https://receiver.nowhere.invalid/hook"},
        format="json",
    )
    body = assert_problem(response, 400, field="url")
    assert "does not resolve" in body["errors"]["url"][0]
    assert not NotificationTarget.objects.exists()


def test_finished_task_rows_are_pruned_and_queued_ones_kept(personas):
    notifications.target_create(
        actor=personas.admin, organization=personas.org, kind="email", name="o", emails=["o@x.io"]
    )
    for _ in range(3):
        notify_rotated(personas.org)
    now = timezone.now()
    done, failed, waiting = DBTaskResult.objects.order_by("enqueued_at")
    DBTaskResult.objects.filter(pk=done.pk).update(status="SUCCESSFUL", finished_at=now)
    DBTaskResult.objects.filter(pk=failed.pk).update(status="FAILED", finished_at=now)

    assert queue.prune_finished(now + timedelta(days=6)) == {"pruned": 0}
    assert queue.prune_finished(now + timedelta(days=8)) == {"pruned": 1}
    assert queue.prune_finished(now + timedelta(days=31)) == {"pruned": 1}
    assert list(DBTaskResult.objects.values_list("pk", flat=True)) == [waiting.pk]
