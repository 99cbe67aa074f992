"""Break-glass: a viewer (or a member, on a type whose values need admin) reveals values with
a justification when the organization allows it; every admin is told at once (mail and the
org's signed webhooks, through the worker); the event is flagged in the audit trail and on
the activity page until an admin acknowledges it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core import mail
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from audit.models import AuditEvent
from governance.models import BreakGlass, Protection
from notifications.models import NotificationDelivery
from orgs import services as org_services
from orgs.models import Membership, Organization, Role
from secrets_app import services as secret_services
from secrets_app.types.base import Context
from tests.conftest import Personas, make_user
from tests.helpers import assert_problem
from tests.listener import Listener, http_answer
from tests.test_dashboard import signed_in
from tests.test_notifications import add_webhook, requests_of, verify
from tests.test_policy_matrix import KUBECONFIG
from tests.worker import run_worker

pytestmark = pytest.mark.django_db

PASSWORD = "hunter2-break-glass-canary"
WHY = "Production is down and the on-call admin cannot be reached."


def create_secret(personas: Personas, name: str, type_name: str, values: dict[str, str]) -> str:
    return secret_services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name=name,
        type=type_name,
        values=values,
        tags=["env:prod"],
        ctx=Context(verify_remote=False),
    ).row.secret_id


@pytest.fixture
def secret(personas: Personas, vault: Any) -> str:
    return create_secret(
        personas, "payments-db", "password", {"username": "app", "password": PASSWORD}
    )


def allow(organization: Organization, on: bool = True) -> None:
    Protection.objects.update_or_create(organization=organization, defaults={"break_glass": on})


def reveal_url(org_id: int, secret_id: str) -> str:
    return f"/api/v1/orgs/{org_id}/secrets/{secret_id}/reveal"


def reveal(client: APIClient, personas: Personas, secret_id: str, why: Any = WHY) -> Any:
    body = {} if why is None else {"justification": why}
    return client.post(reveal_url(personas.org.pk, secret_id), body, format="json")


def acknowledge_url(org_id: int, event_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/break-glass/{event_id}/acknowledge"


def nothing_recorded() -> bool:
    return (
        not BreakGlass.objects.exists()
        and not AuditEvent.objects.filter(action__startswith="secret.break_glass").exists()
        and not NotificationDelivery.objects.exists()
    )


# --------------------------------------------------------------------------- the reveal


def test_viewer_reveals_with_a_justification_when_the_org_allows_it(personas, clients, secret):
    allow(personas.org)
    response = reveal(clients["viewer"], personas, secret)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["values"] == {"username": "app", "password": PASSWORD}
    assert body["name"] == "payments-db" and body["version"] == 1
    flag = body["breakGlass"]
    assert flag["flagged"] is True and flag["username"] == "vera"
    assert flag["justification"] == WHY and flag["acknowledgedAt"] is None
    assert "no-store" in response["Cache-Control"]

    event = BreakGlass.objects.get(pk=flag["id"])
    assert (event.organization, event.secret_id, event.user) == (
        personas.org,
        secret,
        personas.viewer,
    )
    [audited] = AuditEvent.objects.filter(action="secret.break_glass")
    assert (audited.actor, audited.target_id, audited.target_name) == (
        "vera",
        secret,
        "payments-db",
    )
    assert audited.detail["justification"] == WHY and audited.detail["breakGlass"] == event.pk
    assert audited.detail["fields"] == ["password", "username"]
    # The values never reach the database: not the row, the trail nor a notification.
    assert PASSWORD not in json.dumps(list(AuditEvent.objects.values("detail")))
    assert PASSWORD not in event.justification


def test_member_breaks_glass_on_a_type_whose_values_need_admin(personas, clients, vault):
    kube = create_secret(personas, "kube-admin", "kubernetes", {"K8Sconfig": KUBECONFIG})
    allow(personas.org)
    # The normal read refuses the member...
    assert_problem(
        clients["member"].get(f"/api/v1/orgs/{personas.org.pk}/secrets/{kube}?values=true"), 403
    )
    # ...break-glass reveals it, flagged.
    response = reveal(clients["member"], personas, kube)
    assert response.status_code == 200, response.content
    assert response.json()["values"]["K8Sconfig"] == KUBECONFIG
    assert BreakGlass.objects.get().username == "mike"


def test_refused_when_the_org_does_not_allow_it(personas, clients, secret):
    # No protection row yet: break-glass is off.
    body = assert_problem(reveal(clients["viewer"], personas, secret), 403)
    assert "does not allow break-glass" in body["detail"]
    allow(personas.org, on=False)
    assert_problem(reveal(clients["viewer"], personas, secret), 403)
    assert nothing_recorded()


@pytest.mark.parametrize("why", [None, "", "   ", "too short", "x" * 2001, 42])
def test_a_justification_is_required(personas, clients, secret, why):
    allow(personas.org)
    assert_problem(reveal(clients["viewer"], personas, secret, why), 400, field="justification")
    assert nothing_recorded()


def test_a_role_that_reads_the_values_is_sent_to_the_normal_read(personas, clients, secret):
    allow(personas.org)
    for persona in ("member", "admin"):
        body = assert_problem(reveal(clients[persona], personas, secret), 409)
        assert "use the normal read" in body["detail"]
    # A token capped below its person's role breaks no glass its person would not.
    capped = APIClient()
    raw = org_services.token_create(user=personas.admin, name="ci", max_role=Role.VIEWER)[1]
    capped.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert_problem(reveal(capped, personas, secret), 409)
    assert nothing_recorded()


def test_outsiders_and_another_orgs_secret_are_404(personas, clients, secret, vault):
    allow(personas.org)
    allow(personas.other_org)
    assert_problem(reveal(clients["outsider"], personas, secret), 404)
    assert_problem(reveal(clients["anonymous"], personas, secret), 401)
    other = secret_services.secret_create(
        actor=personas.outsider,
        organization=personas.other_org,
        name="their-db",
        type="password",
        values={"username": "u", "password": "not-yours-at-all"},
        tags=[],
        ctx=Context(verify_remote=False),
    ).row.secret_id
    assert_problem(reveal(clients["viewer"], personas, other), 404)
    assert nothing_recorded()


# --------------------------------------------------------------------------- telling admins


@pytest.mark.django_db(transaction=True)
def test_every_admin_is_mailed_and_the_webhook_gets_the_signed_event(
    personas, clients, secret, settings
):
    settings.WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]
    personas.admin.email = "alice@example.com"
    personas.admin.save()
    second = make_user("bob")
    second.email = "bob@example.com"
    second.save()
    Membership.objects.create(user=second, organization=personas.org, role=Role.ADMIN)
    allow(personas.org)
    receiver = Listener(http_answer("204 No Content"))
    try:
        hook = add_webhook(
            clients["admin"],
            personas.org.pk,
            f"{receiver.origin}/hook",
            events=["secret.break_glass"],
        )
        assert reveal(clients["viewer"], personas, secret).status_code == 200
        # Recorded in the request, sent by the worker.
        assert receiver.connections == 0 and not mail.outbox
        run_worker()
        [(line, headers, body)] = requests_of(receiver)
    finally:
        receiver.close()
    assert line == "POST /hook HTTP/1.1" and headers["x-pipeline-event"] == "secret.break_glass"
    assert verify(hook["signingSecret"], headers, body)
    sent = json.loads(body)
    assert sent["detail"]["secretName"] == "payments-db" and sent["detail"]["actor"] == "vera"
    assert PASSWORD not in body.decode()

    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "bob@example.com"]
    for message in mail.outbox:
        assert "vera revealed payments-db" in message.subject
        assert WHY in message.body and f"/orgs/{personas.org.pk}/break-glass/" in message.body
        assert PASSWORD not in message.body


def test_an_address_an_email_target_already_mails_is_mailed_once(personas, clients, secret):
    personas.admin.email = "alice@example.com"
    personas.admin.save()
    clients["admin"].post(
        f"/api/v1/orgs/{personas.org.pk}/notification-targets",
        {
            "kind": "email",
            "name": "sec",
            "emails": ["alice@example.com"],
            "events": ["secret.break_glass"],
        },
        format="json",
    )
    allow(personas.org)
    assert reveal(clients["viewer"], personas, secret).status_code == 200
    [delivery] = NotificationDelivery.objects.all()
    assert delivery.event == "secret.break_glass"
    # The target's delivery, and no direct mail to the same address.
    assert not DBTaskResult.objects.filter(task_path__endswith="send_sealed_mail").exists()


# --------------------------------------------------------------------------- the flag


def test_the_event_is_flagged_and_listed_until_an_admin_acknowledges_it(personas, clients, secret):
    allow(personas.org)
    event_id = reveal(clients["viewer"], personas, secret).json()["breakGlass"]["id"]
    listing = f"/api/v1/orgs/{personas.org.pk}/break-glass"
    page = signed_in(personas, "admin")
    activity = page.get(f"/orgs/{personas.org.pk}/activity/")
    assert b"1 break-glass reveal waits" in activity.content
    assert b"Break-glass: not acknowledged" in activity.content
    assert [e["id"] for e in clients["admin"].get(f"{listing}?open=true").json()] == [event_id]

    # Neither a member nor a viewer may acknowledge; another org's admin does not find it.
    for persona in ("member", "viewer"):
        assert_problem(clients[persona].post(acknowledge_url(personas.org.pk, event_id)), 403)
    assert_problem(clients["outsider"].post(acknowledge_url(personas.org.pk, event_id)), 404)
    assert_problem(clients["admin"].post(acknowledge_url(personas.org.pk, event_id + 1)), 404)
    assert BreakGlass.objects.get().acknowledged_at is None

    done = clients["admin"].post(acknowledge_url(personas.org.pk, event_id))
    assert done.status_code == 200, done.content
    assert done.json()["flagged"] is False and done.json()["acknowledgedBy"] == "alice"
    assert clients["admin"].get(f"{listing}?open=true").json() == []
    assert clients["admin"].get(listing).json()[0]["acknowledgedBy"] == "alice"
    activity = page.get(f"/orgs/{personas.org.pk}/activity/")
    assert b"break-glass reveal" not in activity.content
    assert b"Break-glass: not acknowledged" not in activity.content
    assert (
        AuditEvent.objects.filter(action="secret.break_glass_acknowledged", actor="alice").count()
        == 1
    )
    # Acknowledging again keeps the first acknowledgement.
    assert clients["admin"].post(acknowledge_url(personas.org.pk, event_id)).status_code == 200
    assert AuditEvent.objects.filter(action="secret.break_glass_acknowledged").count() == 1


# --------------------------------------------------------------------------- the pages


def test_the_secret_page_offers_break_glass_to_a_viewer_when_allowed(personas, secret):
    viewer = signed_in(personas, "viewer")
    panel = f"/orgs/{personas.org.pk}/secrets/{secret}/break-glass/"
    detail = viewer.get(f"/orgs/{personas.org.pk}/secrets/{secret}/")
    assert panel.encode() in detail.content
    # Not allowed: the panel is empty.
    assert b"Break glass and reveal" not in viewer.get(panel, HTTP_HX_REQUEST="true").content
    allow(personas.org)
    offer = viewer.get(panel, HTTP_HX_REQUEST="true")
    assert b"Break glass and reveal" in offer.content and b"justification" in offer.content
    # A member reads these values: no offer.
    member = signed_in(personas, "member")
    assert b"Break glass and reveal" not in member.get(panel, HTTP_HX_REQUEST="true").content

    refused = viewer.post(panel, {"justification": "why"})
    assert refused.status_code == 400 and not BreakGlass.objects.exists()
    shown = viewer.post(panel, {"justification": WHY})
    assert shown.status_code == 200
    assert PASSWORD.encode() in shown.content and b"Break-glass recorded" in shown.content
    assert "no-store" in shown["Cache-Control"]
    assert BreakGlass.objects.get().justification == WHY


def test_admins_acknowledge_from_the_break_glass_page(personas, clients, secret):
    allow(personas.org)
    event_id = reveal(clients["viewer"], personas, secret).json()["breakGlass"]["id"]
    listing = f"/orgs/{personas.org.pk}/break-glass/"
    admin = signed_in(personas, "admin")
    page = admin.get(listing)
    assert WHY.encode() in page.content and b"Acknowledge" in page.content
    assert signed_in(personas, "member").get(listing).status_code == 403
    button = f"/orgs/{personas.org.pk}/break-glass/{event_id}/acknowledge/"
    assert signed_in(personas, "member").post(button).status_code == 403
    assert BreakGlass.objects.get().acknowledged_at is None
    assert admin.post(button).status_code == 302
    assert BreakGlass.objects.get().acknowledged_by == "alice"
    assert b"Not acknowledged" not in admin.get(listing).content
