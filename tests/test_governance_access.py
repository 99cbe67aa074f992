"""Temporary access against the real stack (OpenBao): a viewer asks for the member role on one
secret, another admin approves it (perhaps for less time), and the viewer reads that secret's
values, and no other's, until the grant's expiry and not a second after. The clock is passed
in (``governance.access.clock``): nothing sleeps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from governance import access
from governance.models import AccessGrant, AccessRequest
from notifications.models import NotificationDelivery, NotificationTarget
from orgs import policy
from orgs import services as org_services
from orgs.models import Membership, Role
from tests.conftest import Personas
from tests.helpers import assert_problem
from tests.schema_check import CheckedAPIClient
from tests.test_clusters import create_secret, secrets_url
from tests.test_dashboard import signed_in

pytestmark = pytest.mark.django_db


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    frozen = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(access, "clock", frozen)
    return frozen


@pytest.fixture
def secrets(vault: Any, personas: Personas, clients: dict[str, APIClient]) -> dict[str, str]:
    """Two passwords, by name: their ids."""
    org = personas.org.pk
    return {
        name: create_secret(
            clients["admin"],
            org,
            name,
            "password",
            {"username": "app", "password": f"{name}-pw"},
            tags,
        )["id"]
        for name, tags in (("db-pass", ["env:stage"]), ("api-pass", ["env:prod"]))
    }


def requests_url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/access-requests"


def grants_url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/access-grants"


def ask(client: APIClient, org_id: int, **body: Any) -> Any:
    body = {"role": "member", "duration": "4h", "reason": "debug the payment job", **body}
    return client.post(requests_url(org_id), body, format="json")


def approve(client: APIClient, org_id: int, request_id: int, **body: Any) -> Any:
    return client.post(f"{requests_url(org_id)}/{request_id}/approve", body, format="json")


def granted(
    clients: dict[str, APIClient], personas: Personas, duration: str = "1h", **body: Any
) -> dict[str, Any]:
    """The viewer asks (for 4h), the admin approves for ``duration``: the grant."""
    asked = ask(clients["viewer"], personas.org.pk, **body)
    assert asked.status_code == 201, asked.content
    approved = approve(clients["admin"], personas.org.pk, asked.json()["id"], duration=duration)
    assert approved.status_code == 201, approved.content
    grant: dict[str, Any] = approved.json()
    return grant


def read_values(client: APIClient, org_id: int, secret_id: str) -> Any:
    return client.get(f"{secrets_url(org_id)}/{secret_id}?values=true")


def test_a_granted_viewer_reads_that_secret_until_its_expiry_and_not_a_second_after(
    personas: Personas, clients: dict[str, APIClient], secrets: dict[str, str], clock: Clock
) -> None:
    org, viewer = personas.org.pk, clients["viewer"]
    assert read_values(viewer, org, secrets["db-pass"]).status_code == 403
    start = clock.now
    grant = granted(clients, personas, secretId=secrets["db-pass"])
    assert (grant["role"], grant["scope"], grant["state"]) == ("member", "secret", "live")
    assert grant["expiresAt"] == (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    shown = read_values(viewer, org, secrets["db-pass"])
    assert shown.status_code == 200 and shown.json()["values"]["password"] == "db-pass-pw"
    assert read_values(viewer, org, secrets["api-pass"]).status_code == 403
    plain = viewer.get(f"{secrets_url(org)}/{secrets['api-pass']}").json()
    assert plain["values"]["password"] == "<hidden>"

    clock.now = start + timedelta(hours=1) - timedelta(seconds=1)
    assert read_values(viewer, org, secrets["db-pass"]).status_code == 200
    clock.now = start + timedelta(hours=1, seconds=1)
    assert_problem(read_values(viewer, org, secrets["db-pass"]), 403)
    assert viewer.get(grants_url(org)).json()[0]["state"] == "expired"

    actions = list(
        AuditEvent.objects.filter(organization=personas.org, action__startswith="access.")
        .order_by("pk")
        .values_list("action", "actor", "detail__role")
    )
    assert actions == [
        ("access.requested", "vera", "member"),
        ("access.granted", "alice", "member"),
    ]
    reads = AuditEvent.objects.filter(action="secret.read", actor="vera")
    assert reads.count() == 2 and {e.target_id for e in reads} == {secrets["db-pass"]}


def test_an_approval_may_shorten_never_lengthen_and_happens_once(
    personas: Personas, clients: dict[str, APIClient], secrets: dict[str, str], clock: Clock
) -> None:
    org = personas.org.pk
    asked = ask(clients["viewer"], org, secretId=secrets["db-pass"], duration="2h").json()
    assert asked["duration"] == "2h" and asked["durationSeconds"] == 7200
    assert_problem(
        approve(clients["admin"], org, asked["id"], duration="3h"), 400, field="duration"
    )
    assert AccessRequest.objects.get(pk=asked["id"]).status == "pending"
    assert approve(clients["admin"], org, asked["id"]).json()["expiresAt"] == (
        clock.now + timedelta(hours=2)
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert_problem(approve(clients["admin"], org, asked["id"]), 409)
    assert AccessGrant.objects.count() == 1
    # Someone who left the organization is granted nothing.
    gone = ask(clients["member"], org, role="admin").json()
    Membership.objects.filter(user=personas.member).delete()
    assert_problem(approve(clients["admin"], org, gone["id"]), 409)
    assert AccessGrant.objects.count() == 1


def test_revoking_ends_access_at_once(
    personas: Personas, clients: dict[str, APIClient], secrets: dict[str, str], clock: Clock
) -> None:
    org = personas.org.pk
    grant = granted(clients, personas, secretId=secrets["db-pass"])
    assert read_values(clients["viewer"], org, secrets["db-pass"]).status_code == 200
    assert_problem(clients["viewer"].delete(f"{grants_url(org)}/{grant['id']}"), 403)
    assert clients["admin"].delete(f"{grants_url(org)}/{grant['id']}").status_code == 204
    assert read_values(clients["viewer"], org, secrets["db-pass"]).status_code == 403
    assert_problem(clients["admin"].delete(f"{grants_url(org)}/{grant['id']}"), 409)
    revoked = AuditEvent.objects.get(action="access.revoked")
    assert (revoked.actor, revoked.target_name) == ("alice", "vera")
    activity = signed_in(personas, "admin").get(f"/orgs/{org}/activity/?kind=access.")
    html = activity.content.decode()
    assert activity.status_code == 200
    assert all(a in html for a in ("access.requested", "access.granted", "access.revoked"))
    assert clients["admin"].get(grants_url(org)).json()[0]["state"] == "revoked"


def test_nobody_decides_their_own_request(
    personas: Personas, clients: dict[str, APIClient], secrets: dict[str, str], clock: Clock
) -> None:
    org, member = personas.org.pk, clients["member"]
    asked = ask(clients["viewer"], org, secretId=secrets["db-pass"]).json()
    assert_problem(approve(clients["viewer"], org, asked["id"]), 403)
    # The member is made admin of the whole org for a while: that lets them decide others'
    # requests, never their own.
    mine = ask(member, org, role="admin").json()
    assert approve(clients["admin"], org, mine["id"]).status_code == 201
    again = ask(member, org, role="admin").json()
    assert_problem(approve(member, org, again["id"]), 403)
    assert_problem(member.post(f"{requests_url(org)}/{again['id']}/reject"), 403)
    assert AccessRequest.objects.get(pk=again["id"]).status == "pending"
    rejected = member.post(f"{requests_url(org)}/{asked['id']}/reject")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["decidedBy"] == "mike"


def test_a_token_limited_to_viewer_gets_no_lift(
    personas: Personas, clients: dict[str, APIClient], secrets: dict[str, str], clock: Clock
) -> None:
    granted(clients, personas)  # member of the whole organization
    org = personas.org.pk
    assert read_values(clients["viewer"], org, secrets["api-pass"]).status_code == 200
    _, raw = org_services.token_create(user=personas.viewer, name="capped", max_role=Role.VIEWER)
    capped = CheckedAPIClient()
    capped.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert_problem(read_values(capped, org, secrets["api-pass"]), 403)
    # An org grant lifts every route of the org: the viewer creates a secret, the token not.
    body = {"name": "new-pass", "type": "password", "values": {"username": "u", "password": "p"}}
    assert_problem(capped.post(secrets_url(org) + "?validate=false", body, format="json"), 403)
    created = clients["viewer"].post(secrets_url(org) + "?validate=false", body, format="json")
    assert created.status_code == 201


def test_a_tag_grant_covers_the_secrets_with_that_tag_only(
    personas: Personas, clients: dict[str, APIClient], secrets: dict[str, str], clock: Clock
) -> None:
    org = personas.org.pk
    assert granted(clients, personas, tag="env:stage")["scope"] == "tag"
    assert read_values(clients["viewer"], org, secrets["db-pass"]).status_code == 200
    assert read_values(clients["viewer"], org, secrets["api-pass"]).status_code == 403
    # Not the org's values in bulk: a tag grant covers the tagged secrets.
    assert_problem(clients["viewer"].get(secrets_url(org) + "?values=true"), 403)
    page = signed_in(personas, "viewer")
    shown = page.post(f"/orgs/{org}/secrets/{secrets['db-pass']}/values/password/")
    assert shown.status_code == 200 and "db-pass-pw" in shown.content.decode()
    assert page.post(f"/orgs/{org}/secrets/{secrets['api-pass']}/values/").status_code == 403


def test_bad_requests_name_the_field_and_change_nothing(
    personas: Personas, clients: dict[str, APIClient], secrets: dict[str, str], clock: Clock
) -> None:
    org = personas.org.pk
    viewer, member = clients["viewer"], clients["member"]
    assert_problem(ask(member, org, role="member"), 400, field="role")
    assert_problem(ask(clients["admin"], org, role="admin"), 400, field="role")
    assert_problem(ask(viewer, org, role="owner"), 400, field="role")
    for duration in ("10m", "8d", "soon", "4"):
        assert_problem(ask(viewer, org, duration=duration), 400, field="duration")
    assert_problem(ask(viewer, org, reason="  "), 400, field="reason")
    assert_problem(ask(viewer, org, secretId="f" * 64), 400, field="secretId")
    assert_problem(ask(viewer, org, secretId=secrets["db-pass"], tag="env:stage"), 400, field="tag")
    assert_problem(clients["outsider"].post(requests_url(org), {}, format="json"), 404)
    assert (
        AccessRequest.objects.count() == 0
        and not AuditEvent.objects.filter(action__startswith="access.").exists()
    )
    assert ask(viewer, org, duration="7d").status_code == 201
    assert ask(member, org, role="admin", duration="15m").status_code == 201


def test_admins_see_every_request_others_their_own(
    personas: Personas, clients: dict[str, APIClient], secrets: dict[str, str], clock: Clock
) -> None:
    org = personas.org.pk
    ask(clients["viewer"], org)
    ask(clients["member"], org, role="admin")

    def names(client: APIClient, query: str = "") -> list[str]:
        return [r["username"] for r in client.get(requests_url(org) + query).json()]

    assert sorted(names(clients["admin"])) == ["mike", "vera"]
    assert names(clients["viewer"]) == ["vera"]
    assert names(clients["admin"], "?status=approved") == []
    assert_problem(clients["admin"].get(requests_url(org) + "?status=maybe"), 400, field="status")
    assert names(clients["admin"], "?status=pending") != []
    grant = granted(clients, personas, secretId=secrets["db-pass"])
    assert [g["id"] for g in clients["member"].get(grants_url(org)).json()] == []
    assert [g["id"] for g in clients["viewer"].get(grants_url(org) + "?live=true").json()] == [
        grant["id"]
    ]


def test_admins_are_notified_of_requests_and_requesters_of_decisions(
    personas: Personas, clients: dict[str, APIClient], secrets: dict[str, str], clock: Clock
) -> None:
    NotificationTarget.objects.create(
        organization=personas.org,
        name="security",
        kind=NotificationTarget.Kind.EMAIL,
        emails=["security@example.com"],
        events=list(access.EVENTS),
    )
    grant = granted(clients, personas, secretId=secrets["db-pass"])
    clients["admin"].delete(f"{grants_url(personas.org.pk)}/{grant['id']}")
    sent = list(NotificationDelivery.objects.order_by("pk").values_list("event", "subject"))
    assert [event for event, _ in sent] == ["access.requested", "access.granted", "access.revoked"]
    assert sent[0][1] == "vera asks for member on the secret db-pass for 4h"


def test_grants_lift_memberships_only_within_their_organization(
    personas: Personas, clients: dict[str, APIClient], secrets: dict[str, str], clock: Clock
) -> None:
    granted(clients, personas)  # member of org A
    from secrets_app.models import SecretIndex

    row = SecretIndex.objects.get(secret_id=secrets["db-pass"])
    vera = Membership.objects.get(user=personas.viewer, organization=personas.org)
    assert policy.allows(vera, "secret.values.read", row)
    assert not policy.allows(vera, "member.manage")  # a member grant, not an admin one
    vera.token_cap = Role.VIEWER
    assert not policy.allows(vera, "secret.values.read", row)
    elsewhere = Membership.objects.create(
        user=personas.viewer, organization=personas.other_org, role=Role.VIEWER
    )
    assert not policy.allows(elsewhere, "secret.values.read")
    agent = policy.Agent(organization_id=personas.org.pk, cluster_name="c", namespaces=("*",))
    assert not policy.allows(agent, "secret.values.read", row)


# --------------------------------------------------------------------------- the Access page


def test_the_access_page_asks_and_admins_decide_with_a_shorter_duration(
    personas: Personas, secrets: dict[str, str], clock: Clock
) -> None:
    page = f"/orgs/{personas.org.pk}/access/"
    viewer, admin = signed_in(personas, "viewer"), signed_in(personas, "admin")
    html = viewer.get(page).content.decode()
    assert "Ask for more" in html and "Waiting for a decision" not in html
    bad = viewer.post(page, {"role": "member", "duration": "9d", "reason": "x"})
    assert bad.status_code == 400 and "from 15m to 7d" in bad.content.decode()
    asked = viewer.post(
        page, {"role": "member", "secret": "db-pass", "duration": "4h", "reason": "on call"}
    )
    assert asked.status_code == 302
    row = AccessRequest.objects.get()
    assert row.secret_id == secrets["db-pass"]
    assert "Waiting for a decision" in admin.get(page).content.decode()
    done = admin.post(f"{page}requests/{row.pk}/approve/", {"duration": "30m"})
    assert done.status_code == 302
    grant = AccessGrant.objects.get()
    assert grant.expires_at == clock.now + timedelta(minutes=30)
    mine = viewer.get(page).content.decode()
    assert 'id="my-grants"' in mine and "alice" in mine.split('id="my-grants"', 1)[1]
    assert admin.post(f"{page}grants/{grant.pk}/revoke/").status_code == 302
    assert AccessGrant.objects.get().revoked_by == "alice"
    assert viewer.post(f"{page}grants/{grant.pk}/revoke/").status_code == 403


def test_a_secret_grant_opens_the_routes_naming_that_secret_on_pages_and_the_api(
    personas: Personas, clients: dict[str, APIClient], secrets: dict[str, str], clock: Clock
) -> None:
    org, viewer = personas.org.pk, clients["viewer"]
    granted(clients, personas, secretId=secrets["db-pass"])
    page = signed_in(personas, "viewer")
    shown = page.post(f"/orgs/{org}/secrets/{secrets['db-pass']}/values/password/")
    assert shown.status_code == 200 and "db-pass-pw" in shown.content.decode()
    refused = page.post(f"/orgs/{org}/secrets/{secrets['api-pass']}/values/password/")
    assert refused.status_code == 403 and "api-pass-pw" not in refused.content.decode()

    body = {"values": {"username": "app", "password": "new-pw"}, "tags": ["env:stage"]}
    url = f"{secrets_url(org)}/{{}}?validate=false"
    assert viewer.put(url.format(secrets["db-pass"]), body, format="json").status_code == 200
    assert_problem(viewer.put(url.format(secrets["api-pass"]), body, format="json"), 403)
    assert read_values(viewer, org, secrets["db-pass"]).json()["values"]["password"] == "new-pw"
    clock.now += timedelta(hours=2)
    assert (
        page.post(f"/orgs/{org}/secrets/{secrets['db-pass']}/values/password/").status_code == 403
    )
    assert_problem(viewer.put(url.format(secrets["db-pass"]), body, format="json"), 403)


def test_a_page_reads_the_grants_once_however_often_the_policy_asks(
    personas: Personas, clients: dict[str, APIClient], secrets: dict[str, str], clock: Clock
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    granted(clients, personas, secretId=secrets["db-pass"])
    page = signed_in(personas, "viewer")
    with CaptureQueriesContext(connection) as seen:
        html = page.get(f"/orgs/{personas.org.pk}/secrets/{secrets['db-pass']}/").content.decode()
    # The tabs, the header and the value rows each ask the policy; one query answers them.
    assert 'href="/orgs/' in html and "Invitations" not in html
    assert sum("governance_accessgrant" in q["sql"] for q in seen.captured_queries) == 1


def test_the_members_page_shows_a_live_grant_until_it_ends(
    personas: Personas, clients: dict[str, APIClient], secrets: dict[str, str], clock: Clock
) -> None:
    start = clock.now
    granted(clients, personas, secretId=secrets["db-pass"])
    page = Client()
    page.force_login(personas.admin)
    members = f"/orgs/{personas.org.pk}/members/"
    until = (start + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M UTC")
    assert f"member on db-pass until {until} (temporary)" in page.get(members).content.decode()
    clock.now = start + timedelta(hours=1, seconds=1)
    assert "(temporary)" not in page.get(members).content.decode()
