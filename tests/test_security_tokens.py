"""Tokens cannot manage tokens, a token can be limited to one org and a role, and changing the
password ends the user's other sessions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from orgs import services as org_services
from orgs.models import ApiToken, Membership, Organization, Role, User
from tests.conftest import Personas
from tests.helpers import assert_problem
from tests.schema_check import CheckedAPIClient
from tests.test_dashboard import signed_in

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/tokens"
ORGS = "/api/v1/orgs"
PASSWORD = "correct horse battery"


def session_client(user: User) -> APIClient:
    client = CheckedAPIClient()
    client.force_login(user)
    return client


def token_client(user: User, **limits: Any) -> APIClient:
    """A client with a new token of ``user``; ``limits`` as for ``token_create``."""
    _, raw = org_services.token_create(user=user, name="limited", **limits)
    client = CheckedAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def org_url(org: Organization, suffix: str = "") -> str:
    return f"{ORGS}/{org.pk}{suffix}"


def assert_refused_as_token(response: Any) -> None:
    body = assert_problem(response, 403)
    assert "API tokens cannot" in body["detail"] and "sign in" in body["detail"], body


# --------------------------------------------------------------------------- token management


def test_a_token_cannot_list_create_or_revoke_tokens(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    other, _ = org_services.token_create(user=personas.admin, name="other")
    own = ApiToken.objects.get(user=personas.admin, name="tests")
    before = set(ApiToken.objects.values_list("pk", "revoked_at"))
    admin = clients["admin"]

    assert_refused_as_token(admin.get(TOKENS))
    assert_refused_as_token(admin.post(TOKENS, {"name": "forever"}, format="json"))
    assert_refused_as_token(admin.delete(f"{TOKENS}/{other.pk}"))
    assert_refused_as_token(admin.delete(f"{TOKENS}/{own.pk}"))

    assert set(ApiToken.objects.values_list("pk", "revoked_at")) == before
    assert not ApiToken.objects.filter(name="forever").exists()
    assert not AuditEvent.objects.filter(action__startswith="token.", target_name="forever")


def test_a_short_lived_token_cannot_mint_one_that_never_expires(personas: Personas) -> None:
    hourly = token_client(personas.member, expires_at=timezone.now() + timedelta(hours=1))
    assert_refused_as_token(hourly.post(TOKENS, {"name": "forever"}, format="json"))
    assert_refused_as_token(hourly.post(TOKENS, {"name": "x", "expiresAt": None}, format="json"))
    assert list(ApiToken.objects.filter(user=personas.member).values_list("name", flat=True)) == [
        "limited"
    ]


def test_a_session_manages_tokens(personas: Personas) -> None:
    client = CheckedAPIClient()
    assert client.login(username="mike", password=PASSWORD)
    created = client.post(TOKENS, {"name": "ci"}, format="json")
    assert created.status_code == 201, created.content
    token_id = created.json()["id"]
    assert [t["id"] for t in client.get(TOKENS).json()] == [token_id]
    assert client.delete(f"{TOKENS}/{token_id}").status_code == 204
    assert ApiToken.objects.get(pk=token_id).revoked_at is not None


def test_an_unknown_token_is_still_401_on_token_management(personas: Personas) -> None:
    client = CheckedAPIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer pst_nope")
    assert_problem(client.get(TOKENS), 401)
    assert_problem(CheckedAPIClient().post(TOKENS, {"name": "x"}, format="json"), 401)


# --------------------------------------------------------------------------- creating limits


def test_limits_are_set_on_create_and_listed(personas: Personas) -> None:
    client = session_client(personas.admin)
    limited = client.post(
        TOKENS,
        {"name": "ci", "organization": personas.org.pk, "maxRole": "member"},
        format="json",
    )
    assert limited.status_code == 201, limited.content
    body = limited.json()
    assert body["organization"] == personas.org.pk and body["maxRole"] == "member"
    row = ApiToken.objects.get(pk=body["id"])
    assert row.organization == personas.org and row.max_role == Role.MEMBER
    plain = client.post(
        TOKENS, {"name": "all", "organization": None, "maxRole": None}, format="json"
    ).json()
    listed = {t["name"]: t for t in client.get(TOKENS).json()}
    assert (listed["ci"]["organization"], listed["ci"]["maxRole"]) == (personas.org.pk, "member")
    assert (listed["all"]["organization"], listed["all"]["maxRole"]) == (None, None)
    assert ApiToken.objects.get(pk=plain["id"]).is_limited is False


def test_a_token_for_an_org_you_are_not_in_is_a_field_error(personas: Personas) -> None:
    client = session_client(personas.admin)
    before = ApiToken.objects.count()
    foreign = assert_problem(
        client.post(TOKENS, {"name": "x", "organization": personas.other_org.pk}, format="json"),
        400,
        field="organization",
    )
    missing = assert_problem(
        client.post(TOKENS, {"name": "x", "organization": 10**9}, format="json"),
        400,
        field="organization",
    )
    assert foreign["errors"]["organization"] == missing["errors"]["organization"]
    for bad in ("nope", 0, -1, 2**80):
        response = client.post(TOKENS, {"name": "x", "organization": bad}, format="json")
        assert_problem(response, 400, field="organization")
    for role in ("owner", "", "Admin"):
        response = client.post(TOKENS, {"name": "x", "maxRole": role}, format="json")
        assert_problem(response, 400, field="maxRole")
    assert ApiToken.objects.count() == before


# --------------------------------------------------------------------------- org limit


def test_an_org_limited_token_answers_404_for_other_orgs(personas: Personas) -> None:
    # alice is an admin of org B too, yet a token limited to org A does not reach it.
    Membership.objects.create(user=personas.admin, organization=personas.other_org, role="admin")
    unlimited = token_client(personas.admin)
    assert unlimited.get(org_url(personas.other_org)).status_code == 200
    client = token_client(personas.admin, organization_id=personas.org.pk)

    outside = assert_problem(client.get(org_url(personas.other_org)), 404)
    nowhere = assert_problem(client.get(f"{ORGS}/{10**9}"), 404)
    assert outside["detail"] == nowhere["detail"]
    assert_problem(client.get(org_url(personas.other_org, "/members")), 404)
    assert_problem(
        client.post(org_url(personas.other_org, "/members"), {"username": "vera"}, format="json"),
        404,
    )
    assert not Membership.objects.filter(user=personas.viewer, organization=personas.other_org)

    inside = client.get(org_url(personas.org))
    assert inside.status_code == 200 and inside.json()["role"] == "admin"
    assert client.get(org_url(personas.org, "/members")).status_code == 200
    assert [o["name"] for o in client.get(ORGS).json()] == ["org-a"]
    assert [o["name"] for o in unlimited.get(ORGS).json()] == ["org-a", "org-b"]


def test_a_limited_token_cannot_create_an_org(personas: Personas, settings) -> None:
    settings.ORG_CREATION = "anyone"  # alice is no staff account
    for limits in ({"organization_id": personas.org.pk}, {"max_role": Role.ADMIN}):
        client = token_client(personas.admin, **limits)
        body = assert_problem(client.post(ORGS, {"name": "org-c"}, format="json"), 403)
        assert "limited" in body["detail"]
    assert not Organization.objects.filter(name="org-c").exists()
    created = token_client(personas.admin).post(ORGS, {"name": "org-c"}, format="json")
    assert created.status_code == 201, created.content


def test_a_token_limited_to_an_org_it_left_reaches_nothing(personas: Personas) -> None:
    client = token_client(personas.viewer, organization_id=personas.org.pk)
    Membership.objects.filter(user=personas.viewer, organization=personas.org).delete()
    assert_problem(client.get(org_url(personas.org)), 404)
    assert client.get(ORGS).json() == []


def test_deleting_the_org_deletes_the_tokens_limited_to_it(personas: Personas) -> None:
    limited, _ = org_services.token_create(
        user=personas.outsider, name="b-only", organization_id=personas.other_org.pk
    )
    personas.other_org.delete()
    assert not ApiToken.objects.filter(pk=limited.pk).exists()


# --------------------------------------------------------------------------- role limit


def test_a_viewer_limited_admin_token_reads_but_cannot_write(
    vault: Any, personas: Personas
) -> None:
    secrets = org_url(personas.org, "/secrets")
    body = {"name": "db", "type": "password", "values": {"username": "u"}}
    client = token_client(personas.admin, max_role=Role.VIEWER)

    assert_problem(client.post(secrets, body, format="json"), 403)
    assert client.get(secrets).json() == []
    created = token_client(personas.admin).post(secrets, body, format="json")
    assert created.status_code == 201, created.content

    listed = client.get(secrets)
    assert listed.status_code == 200 and [s["name"] for s in listed.json()] == ["db"]
    assert_problem(client.get(f"{secrets}?values=true"), 403)
    detail = client.get(f"{secrets}/{created.json()['id']}")
    assert detail.status_code == 200
    assert set(detail.json()["values"].values()) == {"<hidden>"}
    assert client.get(org_url(personas.org)).json()["role"] == "viewer"
    assert [(o["name"], o["role"]) for o in client.get(ORGS).json()] == [("org-a", "viewer")]


def test_a_member_limited_admin_token_cannot_act_as_admin(personas: Personas) -> None:
    client = token_client(personas.admin, max_role=Role.MEMBER)
    members = org_url(personas.org, "/members")
    vera = f"{members}/{personas.viewer.pk}"

    body = assert_problem(client.post(members, {"username": "oscar"}, format="json"), 403)
    assert "admin role" in body["detail"] and "you are member" in body["detail"]
    assert_problem(client.put(vera, {"role": "admin"}, format="json"), 403)
    assert_problem(client.delete(vera), 403)
    assert_problem(client.get(org_url(personas.org, "/audit")), 403)
    assert client.get(members).status_code == 200

    # The cap lives on the request only: memberships are unchanged.
    roles = dict(
        Membership.objects.filter(organization=personas.org).values_list("user__username", "role")
    )
    assert roles == {"alice": "admin", "mike": "member", "vera": "viewer"}
    assert session_client(personas.admin).get(org_url(personas.org)).json()["role"] == "admin"


def test_a_role_limit_never_raises_a_role(personas: Personas) -> None:
    client = token_client(personas.viewer, max_role=Role.ADMIN)
    assert client.get(org_url(personas.org)).json()["role"] == "viewer"
    assert_problem(
        client.post(org_url(personas.org, "/members"), {"username": "oscar"}, format="json"), 403
    )


# --------------------------------------------------------------------------- dashboard


def test_the_dashboard_tokens_page_sets_and_shows_the_limits(personas: Personas) -> None:
    client = signed_in(personas, "admin")
    page = client.get("/account/tokens/").content.decode()
    assert 'name="organization"' in page and 'name="max_role"' in page
    assert "org-a" in page and "org-b" not in page  # only the user's own organizations

    response = client.post(
        "/account/tokens/",
        {"name": "dashboard-script", "organization": personas.org.pk, "max_role": "viewer"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(name="dashboard-script")
    assert token.organization == personas.org and token.max_role == Role.VIEWER
    org_services.token_create(user=personas.admin, name="everywhere")

    html = client.get("/account/tokens/").content.decode()
    limited_row = html.split("dashboard-script</th>", 1)[1].split("</tr>", 1)[0]
    assert ">org-a<" in limited_row and "role-viewer" in limited_row
    plain_row = html.split("everywhere</th>", 1)[1].split("</tr>", 1)[0]
    assert ">all<" in plain_row and ">your role<" in plain_row


def test_the_dashboard_refuses_an_org_you_are_not_in(personas: Personas) -> None:
    client = signed_in(personas, "admin")
    html = client.post(
        "/account/tokens/", {"name": "sneaky", "organization": personas.other_org.pk}
    ).content.decode()
    assert "Select a valid choice" in html
    assert not ApiToken.objects.filter(name="sneaky").exists()


# --------------------------------------------------------------------------- password change


def test_changing_the_password_ends_the_other_sessions(personas: Personas) -> None:
    changer, other = Client(), Client()
    assert changer.login(username="vera", password=PASSWORD)
    assert other.login(username="vera", password=PASSWORD)
    someone_else = signed_in(personas, "member")
    other_key = other.session.session_key
    assert other.get("/").status_code == 200

    response = changer.post(
        "/accounts/password/",
        {
            "oldpassword": PASSWORD,
            "password1": "a-fresh-long-passphrase",
            "password2": "a-fresh-long-passphrase",
        },
    )
    assert response.status_code == 302, response.content

    assert not Session.objects.filter(session_key=other_key).exists()
    assert changer.get("/").status_code == 200
    signed_out = other.get("/")
    assert signed_out.status_code == 302 and signed_out["Location"].startswith("/accounts/login/")
    assert someone_else.get("/").status_code == 200
    vera = str(personas.viewer.pk)
    left = [s.session_key for s in Session.objects.all() if s.get_decoded()[SESSION_KEY] == vera]
    assert left == [changer.session.session_key]
