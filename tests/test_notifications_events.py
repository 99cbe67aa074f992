"""Item 7: notifications worth having. The audit trail's events become notifications
(secret created, updated, deleted, values read when opted in, member changes), recorded in
the writer's transaction and sent by the real worker to real receivers on 127.0.0.1, in the
signed generic format or a Slack-compatible one; never a value in any of them."""

from __future__ import annotations

import json

import pytest
from allauth.account.models import EmailAddress
from django.db import transaction

from notifications import services as notifications
from notifications.models import NotificationDelivery, NotificationTarget
from orgs import invitations
from orgs import services as org_services
from tests.conftest import make_user
from tests.listener import Listener, http_answer
from tests.test_clusters import clusters_url, create_secret, install, new_namespace, register
from tests.test_notifications import requests_of, verify
from tests.worker import queued, run_worker

pytestmark = pytest.mark.django_db(transaction=True)

VALUE = "s3cr3t-never-sent-4471"


def secrets_url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/secrets"


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]
    listener = Listener(http_answer("204 No Content"))
    yield listener
    listener.close()


def webhook(personas, url: str, **extra) -> tuple[NotificationTarget, str]:
    target, raw = notifications.target_create(
        actor=personas.admin,
        organization=personas.org,
        kind="webhook",
        name=extra.pop("name", "hook"),
        url=url,
        **extra,
    )
    assert raw is not None
    return target, raw


def bodies(listener: Listener) -> list[dict]:
    return [json.loads(body) for _, _, body in requests_of(listener)]


def test_secret_writes_become_signed_notifications_without_values(
    vault, personas, clients, receiver
):
    """Item 7: create, update and delete each reach a target that ticked nothing; values
    read do not (opt-in); the bodies are signed and hold names and versions, no value."""
    _, raw = webhook(personas, f"{receiver.origin}/hook")
    admin = clients["admin"]
    created = admin.post(
        secrets_url(personas.org.pk),
        {"name": "db-password", "type": "password", "values": {"username": "app"}},
        format="json",
    ).json()
    url = f"{secrets_url(personas.org.pk)}/{created['id']}"
    updated = admin.put(
        url,
        {
            "name": "db-password",
            "type": "password",
            "values": {"username": "app", "password": VALUE},
        },
        format="json",
    )
    assert updated.status_code == 200, updated.content
    assert admin.get(url).json()["values"]["password"] == VALUE  # a read: not sent (opt-in)
    assert admin.delete(url).status_code == 204
    assert list(NotificationDelivery.objects.order_by("pk").values_list("event", flat=True)) == [
        "secret.created",
        "secret.updated",
        "secret.deleted",
    ]
    assert receiver.connections == 0 and queued() >= 1
    run_worker()

    assert receiver.connections == 3 and VALUE.encode() not in receiver.received
    for _, headers, body in requests_of(receiver):
        assert verify(raw, headers, body)
    sent = bodies(receiver)
    assert [b["event"] for b in sent] == ["secret.created", "secret.updated", "secret.deleted"]
    assert sent[0]["subject"] == "alice created db-password (version 1)"
    assert sent[1]["subject"] == "alice updated db-password (version 2)"
    assert sent[1]["detail"] == {
        "action": "secret.update",
        "actor": "alice",
        "secretId": created["id"],
        "secretName": "db-password",
        "version": 2,
        "fields": [],
    }
    assert sent[2]["subject"] == "alice deleted db-password"
    assert set(NotificationDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_values_read_reach_only_the_targets_that_ticked_them(vault, personas, clients, receiver):
    """Item 7: "values read" is opt-in: a target that ticked it hears who read which fields;
    one that ticked nothing does not."""
    readers = Listener(http_answer("200 OK"))
    try:
        webhook(personas, receiver.origin, name="everything")
        webhook(personas, readers.origin, name="reads", events=["secret.read"])
        created = (
            clients["member"]
            .post(
                secrets_url(personas.org.pk),
                {"name": "api-key", "type": "generic", "values": {"token": VALUE}},
                format="json",
            )
            .json()
        )
        read = clients["member"].get(f"{secrets_url(personas.org.pk)}/{created['id']}")
        assert read.json()["values"] == {"token": VALUE}
        run_worker()
        assert [b["event"] for b in bodies(receiver)] == ["secret.created"]
        [heard] = bodies(readers)
        assert heard["event"] == "secret.read" and heard["subject"] == "mike read values of api-key"
        assert heard["detail"]["actor"] == "mike" and heard["detail"]["version"] == 1
        assert VALUE.encode() not in readers.received + receiver.received
    finally:
        readers.close()


def test_member_changes_are_notified(personas, receiver):
    """Item 7: a member added (invitation accepted), a role changed, a member removed."""
    webhook(
        personas, receiver.origin, events=["member.added", "member.removed", "member.role_changed"]
    )
    carol = make_user("carol")
    EmailAddress.objects.create(user=carol, email="carol@example.com", verified=True, primary=True)
    _, token = invitations.invitation_create(
        actor=personas.admin,
        organization=personas.org,
        email="carol@example.com",
        role="viewer",
        base_url="http://testserver/",
    )
    invitations.invitation_accept(user=carol, raw=token)
    org_services.member_change_role(
        actor=personas.admin, organization=personas.org, user_id=carol.pk, role="member"
    )
    org_services.member_remove(actor=personas.admin, organization=personas.org, user_id=carol.pk)
    run_worker()
    sent = bodies(receiver)
    assert [(b["event"], b["subject"]) for b in sent] == [
        ("member.added", "carol joined as viewer"),
        ("member.role_changed", "alice made carol member"),
        ("member.removed", "alice removed carol"),
    ]
    assert sent[1]["detail"]["member"] == "carol" and sent[1]["detail"]["role"] == "member"
    assert "token" not in json.dumps(sent).lower()


def test_a_change_rolled_back_takes_its_notification_with_it(personas, receiver):
    """Item 7: the deliveries and their worker run are written in the transaction of the
    audit event that raised them: a change rolled back leaves neither."""
    webhook(personas, receiver.origin, events=["member.role_changed"])
    with pytest.raises(RuntimeError), transaction.atomic():
        org_services.member_change_role(
            actor=personas.admin,
            organization=personas.org,
            user_id=personas.viewer.pk,
            role="member",
        )
        assert NotificationDelivery.objects.count() == 1 and queued() == 1
        raise RuntimeError("the change fails after its audit event")
    assert not NotificationDelivery.objects.exists() and queued() == 0
    run_worker()
    assert receiver.connections == 0


def test_a_refused_write_notifies_nothing(vault, personas, clients, receiver):
    """Item 7: the notification commits with the change it announces: a create refused (the
    name exists, 409) records no delivery and sends nothing."""
    webhook(personas, receiver.origin, events=["secret.created"])
    body = {"name": "dup", "type": "generic", "values": {"k": "v"}}
    assert (
        clients["admin"].post(secrets_url(personas.org.pk), body, format="json").status_code == 201
    )
    again = clients["admin"].post(secrets_url(personas.org.pk), body, format="json")
    assert again.status_code == 409
    assert NotificationDelivery.objects.count() == 1
    run_worker()
    assert receiver.connections == 1


def test_slack_format_is_a_text_and_blocks_message(personas, receiver):
    """Item 7: a target in the Slack-compatible format gets {"text", "blocks"} (mrkdwn
    escaped), still signed; the generic target's body is unchanged."""
    generic = Listener(http_answer("204 No Content"))
    try:
        _, raw = webhook(personas, f"{receiver.origin}/slack", format="slack")
        webhook(personas, generic.origin, name="generic")
        notifications.notify(
            organization=personas.org,
            event="secret.rotated",
            subject="db<password> was rotated",
            detail={"secretName": "db<password>", "version": 4},
        )
        run_worker()
        [(_, headers, body)] = requests_of(receiver)
        assert verify(raw, headers, body)
        message = json.loads(body)
        assert set(message) == {"text", "blocks"}
        assert message["text"] == "[org-a] db<password> was rotated"
        assert message["blocks"][0]["text"]["text"] == "*[org-a] db&lt;password&gt; was rotated*"
        assert "*version*: 4" in message["blocks"][1]["text"]["text"]
        assert "`secret.rotated`" in message["blocks"][2]["elements"][0]["text"]
        [plain] = bodies(generic)
        assert set(plain) == {"id", "event", "subject", "organization", "detail", "createdAt"}
    finally:
        generic.close()


def test_installs_and_uninstalls_are_notified(
    vault, personas, clients, receiver, kube_control_plane
):
    """Item 7: installing secrets into a namespace and uninstalling a copy reach the targets
    that ticked them, naming the cluster, the namespace and the outcome counts."""
    webhook(personas, receiver.origin, events=["installation.created", "installation.removed"])
    org = personas.org.pk
    cluster = register(clients["admin"], org, "dev", kube_control_plane.admin_kubeconfig())
    create_secret(clients["member"], org, "one", "generic", {"k": VALUE}, ["d"])
    create_secret(clients["member"], org, "two", "generic", {"k": "2"}, ["d"])
    namespace = new_namespace("notify")
    installed = install(
        clients["member"], org, cluster["id"], {"namespace": namespace, "query": {"tag": "d"}}
    )
    assert installed.status_code in (200, 201), installed.content
    base = f"{clusters_url(org)}/{cluster['id']}/secrets"
    assert clients["member"].delete(f"{base}/one?namespace={namespace}").status_code == 204
    run_worker()
    sent = [(b["event"], b["subject"]) for b in bodies(receiver)]
    assert sent == [
        ("installation.created", f"mike installed into dev/{namespace} (installed: 2)"),
        ("installation.removed", f"mike uninstalled one from dev/{namespace}"),
    ]
    detail = bodies(receiver)[0]["detail"]
    assert detail["cluster"] == "dev" and detail["namespace"] == namespace
    assert detail["statuses"] == ["installed: 2"] and VALUE.encode() not in receiver.received
