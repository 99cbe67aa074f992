"""Personal API tokens: shown once, stored hashed, revocable, expiring, valid in every org.

Tokens are managed from a signed-in session (``sessions``); the ``clients`` fixture's bearer
tokens are used where a token is put to work.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from orgs.models import ApiToken, Membership, Role, Source
from tests.conftest import Personas
from tests.helpers import assert_problem, check_access
from tests.schema_check import CheckedAPIClient

pytestmark = pytest.mark.django_db

TOKENS = "/api/v1/tokens"
ORGS = "/api/v1/orgs"


@pytest.fixture
def sessions(personas: Personas) -> dict[str, APIClient]:
    """One API client per persona signed in with a session, plus ``anonymous``."""
    result: dict[str, APIClient] = {"anonymous": CheckedAPIClient()}
    for name in ("admin", "member", "viewer", "outsider"):
        result[name] = CheckedAPIClient()
        result[name].force_login(personas.user(name))
    return result


def bearer(raw: str) -> APIClient:
    client = CheckedAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def create_token(client: APIClient, name: str = "ci", **extra: Any) -> dict[str, Any]:
    response = client.post(TOKENS, {"name": name, **extra}, format="json")
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


def assert_unauthorized(response: Any, *, mentions: str | None = None) -> dict[str, Any]:
    """A 401 problem with a bearer challenge, its detail mentioning ``mentions`` if given."""
    body = assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer "), response.headers
    if mentions is not None:
        assert mentions in body["detail"].lower(), body
    return body


def test_create_shows_the_token_once_and_stores_only_its_sha256(
    personas: Personas, sessions: dict[str, APIClient]
) -> None:
    response = sessions["admin"].post(TOKENS, {"name": "  deploy-bot  "}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    raw = body["token"]
    assert raw.startswith("pst_") and len(raw) >= 40
    assert response.content.decode().count(raw) == 1
    assert body["name"] == "deploy-bot"
    assert raw.startswith(body["prefix"]) and len(body["prefix"]) < len(raw)
    assert body["revokedAt"] is None and body["expiresAt"] is None and body["lastUsedAt"] is None

    row = ApiToken.objects.get(pk=body["id"])
    assert row.user_id == personas.admin.pk
    assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    for field in ApiToken._meta.concrete_fields:
        assert raw not in str(getattr(row, field.attname)), field.name
    # The raw token is nowhere in the table, under any user.
    for values in ApiToken.objects.values_list():
        assert all(raw not in str(value) for value in values)


def test_listing_never_shows_the_token(personas: Personas, sessions: dict[str, APIClient]) -> None:
    raw = create_token(sessions["admin"])["token"]
    response = sessions["admin"].get(TOKENS)
    assert response.status_code == 200
    assert raw not in response.content.decode()
    assert all("token" not in t for t in response.json())
    assert "ci" in [t["name"] for t in response.json()]


def test_a_new_token_authenticates_as_its_user(
    personas: Personas, sessions: dict[str, APIClient]
) -> None:
    raw = create_token(sessions["viewer"])["token"]
    response = bearer(raw).get(ORGS)
    assert response.status_code == 200, response.content
    assert [(o["name"], o["role"]) for o in response.json()] == [("org-a", "viewer")]


def test_list_shows_only_own_tokens(personas: Personas, sessions: dict[str, APIClient]) -> None:
    mine = {
        create_token(sessions["admin"], "one")["id"],
        create_token(sessions["admin"], "two")["id"],
    }
    theirs = create_token(sessions["member"], "mikes")["id"]
    listed = sessions["admin"].get(TOKENS).json()
    ids = {t["id"] for t in listed}
    assert mine <= ids and theirs not in ids
    assert ids == set(ApiToken.objects.filter(user=personas.admin).values_list("pk", flat=True))
    assert sorted(t["name"] for t in listed) == ["one", "two"]


def test_token_endpoints_need_authentication(
    personas: Personas, sessions: dict[str, APIClient]
) -> None:
    check_access(sessions, "get", TOKENS, allowed=("admin", "member", "viewer", "outsider"), ok=200)
    anonymous = sessions["anonymous"]
    assert_unauthorized(anonymous.get(TOKENS))
    assert_unauthorized(anonymous.post(TOKENS, {"name": "x"}, format="json"))
    some_id = create_token(sessions["admin"])["id"]
    assert_unauthorized(anonymous.delete(f"{TOKENS}/{some_id}"))
    assert ApiToken.objects.get(pk=some_id).revoked_at is None
    assert not ApiToken.objects.filter(name="x").exists()


def test_create_validates_name_and_expiry(
    personas: Personas, sessions: dict[str, APIClient]
) -> None:
    before = ApiToken.objects.count()
    for payload in ({}, {"name": ""}, {"name": "   "}):
        assert_problem(sessions["admin"].post(TOKENS, payload, format="json"), 400, field="name")
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    assert_problem(
        sessions["admin"].post(TOKENS, {"name": "old", "expiresAt": past}, format="json"),
        400,
        field="expiresAt",
    )
    assert_problem(
        sessions["admin"].post(TOKENS, {"name": "x", "expiresAt": "someday"}, format="json"),
        400,
        field="expiresAt",
    )
    assert ApiToken.objects.count() == before


def test_a_token_with_a_future_expiry_works_until_it_expires(
    personas: Personas, sessions: dict[str, APIClient]
) -> None:
    expires = timezone.now() + timedelta(days=7)
    body = create_token(sessions["member"], "weekly", expiresAt=expires.isoformat())
    assert body["expiresAt"] is not None
    row = ApiToken.objects.get(pk=body["id"])
    assert abs((row.expires_at - expires).total_seconds()) < 1  # type: ignore[operator]
    client = bearer(body["token"])
    assert client.get(ORGS).status_code == 200

    ApiToken.objects.filter(pk=body["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_unauthorized(client.get(ORGS), mentions="expired")
    assert_unauthorized(client.get(f"{ORGS}/{personas.org.pk}"), mentions="expired")


def test_revoke_then_the_token_is_refused_as_revoked(
    personas: Personas, sessions: dict[str, APIClient], clients: dict[str, APIClient]
) -> None:
    body = create_token(sessions["member"], "short-lived")
    client = bearer(body["token"])
    assert client.get(ORGS).status_code == 200
    response = sessions["member"].delete(f"{TOKENS}/{body['id']}")
    assert response.status_code == 204 and response.content == b""
    assert_unauthorized(client.get(ORGS), mentions="revoked")
    listed = {t["id"]: t for t in sessions["member"].get(TOKENS).json()}
    assert listed[body["id"]]["revokedAt"] is not None
    # The member's other tokens keep working.
    assert clients["member"].get(ORGS).status_code == 200


def test_revoking_someone_elses_token_is_404_and_leaves_it_working(
    personas: Personas, sessions: dict[str, APIClient]
) -> None:
    theirs = create_token(sessions["outsider"], "oscars")
    foreign = assert_problem(sessions["admin"].delete(f"{TOKENS}/{theirs['id']}"), 404)
    missing_id = ApiToken.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    missing = assert_problem(sessions["admin"].delete(f"{TOKENS}/{missing_id}"), 404)
    assert foreign["detail"] == missing["detail"]
    assert ApiToken.objects.get(pk=theirs["id"]).revoked_at is None
    assert bearer(theirs["token"]).get(ORGS).status_code == 200


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer    "])
def test_a_bearer_header_without_a_token_is_401(personas: Personas, header: str) -> None:
    client = CheckedAPIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert_unauthorized(client.get(ORGS))


@pytest.mark.parametrize(
    "raw", ["garbage", "pst_" + "A" * 43, "pst_", "Bearer pst_nope", "\u00e9t\u00e9"]
)
def test_an_unknown_token_is_401(personas: Personas, raw: str) -> None:
    assert_unauthorized(bearer(raw).get(ORGS), mentions="invalid")


def test_another_scheme_is_not_a_login(personas: Personas, clients: dict[str, APIClient]) -> None:
    client = CheckedAPIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic YWxpY2U6Y29ycmVjdCBob3JzZSBiYXR0ZXJ5")
    assert_unauthorized(client.get(ORGS))


def test_a_slightly_altered_token_is_refused(
    personas: Personas, sessions: dict[str, APIClient]
) -> None:
    raw = create_token(sessions["admin"])["token"]
    altered = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    assert_unauthorized(bearer(altered).get(ORGS), mentions="invalid")
    assert bearer(raw).get(ORGS).status_code == 200


def test_an_inactive_users_token_is_refused(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    personas.viewer.is_active = False
    personas.viewer.save(update_fields=["is_active"])
    assert_unauthorized(clients["viewer"].get(ORGS), mentions="inactive")


def test_last_used_at_is_set_on_use(personas: Personas, sessions: dict[str, APIClient]) -> None:
    body = create_token(sessions["admin"], "tracked")
    row = ApiToken.objects.get(pk=body["id"])
    assert row.last_used_at is None
    before = timezone.now()
    assert bearer(body["token"]).get(ORGS).status_code == 200
    row.refresh_from_db()
    assert row.last_used_at is not None and before <= row.last_used_at <= timezone.now()
    listed = {t["id"]: t for t in sessions["admin"].get(TOKENS).json()}
    assert listed[body["id"]]["lastUsedAt"] is not None
    # A refused token is not "used".
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=None, revoked_at=timezone.now())
    assert_unauthorized(bearer(body["token"]).get(ORGS), mentions="revoked")
    row.refresh_from_db()
    assert row.last_used_at is None


def test_last_used_at_is_refreshed_once_it_is_stale(
    personas: Personas, sessions: dict[str, APIClient]
) -> None:
    body = create_token(sessions["admin"], "tracked")
    stale = timezone.now() - timedelta(hours=2)
    ApiToken.objects.filter(pk=body["id"]).update(last_used_at=stale)
    assert bearer(body["token"]).get(ORGS).status_code == 200
    assert ApiToken.objects.get(pk=body["id"]).last_used_at > stale  # type: ignore[operator]


def test_a_token_works_in_every_org_of_its_user(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    other = f"{ORGS}/{personas.other_org.pk}"
    assert_problem(clients["member"].get(other), 404)
    Membership.objects.create(  # mike accepted org B's invitation
        user=personas.member,
        organization=personas.other_org,
        role=Role.VIEWER,
        source=Source.INVITATION,
    )
    # The very same token (minted before mike joined org B) now reads org B too.
    got = clients["member"].get(other)
    assert got.status_code == 200 and got.json()["role"] == "viewer"
    assert clients["member"].get(f"{other}/members").status_code == 200
    assert clients["member"].get(f"{ORGS}/{personas.org.pk}").json()["role"] == "member"
    assert [o["name"] for o in clients["member"].get(ORGS).json()] == ["org-a", "org-b"]
    # ... with the role it has there, not the one it has elsewhere.
    assert_problem(
        clients["member"].post(f"{other}/members", {"username": "vera"}, format="json"), 403
    )
