"""The organizations and members API: listing, creating, roles, the last admin, isolation."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from orgs.models import Invitation, Membership, Organization, Role, User
from orgs.scoping import ORG_NOT_FOUND
from tests.conftest import Personas, make_user, token_client
from tests.helpers import assert_problem, check_access
from tests.worker import run_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def anyone_creates_orgs(settings) -> None:
    """These personas are no staff accounts: the operator lets anyone create organizations
    (tests/test_security_consent.py covers the default, staff only)."""
    settings.ORG_CREATION = "anyone"


def with_address(username: str) -> User:
    user = make_user(username)
    user.email = f"{username}@example.org"
    user.save(update_fields=["email"])
    return user


ORGS = "/api/v1/orgs"


def org_url(org_id: int) -> str:
    return f"{ORGS}/{org_id}"


def members_url(org_id: int) -> str:
    return f"{ORGS}/{org_id}/members"


def member_url(org_id: int, user_id: int) -> str:
    return f"{members_url(org_id)}/{user_id}"


def assert_bearer_challenge(response: Any) -> None:
    """An anonymous call is a 401 problem that tells the client to send a bearer token."""
    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer "), response.headers


def role_in(org: Organization, user: User) -> str | None:
    return (
        Membership.objects.filter(organization=org, user=user)
        .values_list("role", flat=True)
        .first()
    )


# --------------------------------------------------------------------------- organizations


def test_list_shows_only_the_callers_orgs_with_their_role(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    def listed(persona: str) -> list[tuple[str, str]]:
        response = clients[persona].get(ORGS)
        assert response.status_code == 200, response.content
        return [(o["name"], o["role"]) for o in response.json()]

    assert listed("admin") == [("org-a", "admin")]
    assert listed("member") == [("org-a", "member")]
    assert listed("viewer") == [("org-a", "viewer")]
    assert listed("outsider") == [("org-b", "admin")]

    Membership.objects.create(user=personas.outsider, organization=personas.org, role=Role.VIEWER)
    assert listed("outsider") == [("org-a", "viewer"), ("org-b", "admin")]
    entry = clients["outsider"].get(ORGS).json()[0]
    assert entry["id"] == personas.org.pk and entry["createdAt"].endswith("Z")
    assert_bearer_challenge(clients["anonymous"].get(ORGS))


def test_list_roles(personas: Personas, clients: dict[str, APIClient]) -> None:
    responses = check_access(
        clients, "get", ORGS, allowed=("admin", "member", "viewer", "outsider"), ok=200
    )
    assert_bearer_challenge(responses["anonymous"])


@pytest.mark.usefixtures("anyone_creates_orgs")
def test_create_makes_the_caller_its_admin(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    response = clients["viewer"].post(ORGS, {"name": "platform-team"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "platform-team" and body["role"] == "admin"
    org = Organization.objects.get(pk=body["id"])
    assert org.name == "platform-team"
    assert list(org.memberships.values_list("user__username", "role")) == [("vera", "admin")]

    assert ("platform-team", "admin") in [
        (o["name"], o["role"]) for o in clients["viewer"].get(ORGS).json()
    ]
    got = clients["viewer"].get(org_url(org.pk))
    assert got.status_code == 200 and got.json() == body
    # Nobody else was given anything in the new organization.
    assert_problem(clients["admin"].get(org_url(org.pk)), 404)


@pytest.mark.usefixtures("anyone_creates_orgs")
def test_create_roles(personas: Personas, clients: dict[str, APIClient]) -> None:
    responses = check_access(
        clients,
        "post",
        ORGS,
        allowed=("admin", "member", "viewer", "outsider"),
        ok=201,
        make_body=lambda p: {"name": f"new-{p}"},
    )
    assert_bearer_challenge(responses["anonymous"])
    assert not Organization.objects.filter(name="new-anonymous").exists()
    for persona in ("admin", "member", "viewer", "outsider"):
        org = Organization.objects.get(name=f"new-{persona}")
        assert role_in(org, personas.user(persona)) == Role.ADMIN
        assert org.memberships.count() == 1


@pytest.mark.usefixtures("anyone_creates_orgs")
@pytest.mark.parametrize("name", ["org-a", "ORG-A", "  org-a  "])
def test_create_with_a_taken_name_is_409(
    personas: Personas, clients: dict[str, APIClient], name: str
) -> None:
    before = Organization.objects.count()
    body = assert_problem(clients["outsider"].post(ORGS, {"name": name}, format="json"), 409)
    assert "org-a" in body["detail"].lower()
    assert Organization.objects.count() == before
    assert role_in(personas.org, personas.outsider) is None


@pytest.mark.usefixtures("anyone_creates_orgs")
@pytest.mark.parametrize("payload", [{"name": ""}, {"name": "   "}, {}, {"name": "x" * 101}])
def test_create_with_a_bad_name_is_400_naming_name(
    personas: Personas, clients: dict[str, APIClient], payload: dict[str, str]
) -> None:
    before = Organization.objects.count()
    assert_problem(clients["admin"].post(ORGS, payload, format="json"), 400, field="name")
    assert Organization.objects.count() == before


def test_get_org_by_persona(personas: Personas, clients: dict[str, APIClient]) -> None:
    url = org_url(personas.org.pk)
    responses = check_access(clients, "get", url, allowed=("admin", "member", "viewer"), ok=200)
    for persona in ("admin", "member", "viewer"):
        body = responses[persona].json()
        assert body["id"] == personas.org.pk and body["name"] == "org-a"
        assert body["role"] == persona  # persona names are the role names
    assert_bearer_challenge(responses["anonymous"])


def test_unknown_org_is_404_with_the_same_detail_as_another_orgs(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    theirs = assert_problem(clients["admin"].get(org_url(personas.other_org.pk)), 404)
    missing_id = Organization.objects.order_by("-pk").first().pk + 1000  # type: ignore[union-attr]
    unknown = assert_problem(clients["admin"].get(org_url(missing_id)), 404)
    assert theirs["detail"] == unknown["detail"] == ORG_NOT_FOUND
    assert "org-b" not in str(theirs)


# --------------------------------------------------------------------------- members


def test_members_list_shows_everyone_with_roles(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    responses = check_access(
        clients, "get", members_url(personas.org.pk), allowed=("admin", "member", "viewer"), ok=200
    )
    listed = [(m["username"], m["role"], m["userId"]) for m in responses["viewer"].json()]
    assert listed == [
        ("alice", "admin", personas.admin.pk),
        ("mike", "member", personas.member.pk),
        ("vera", "viewer", personas.viewer.pk),
    ]
    assert "oscar" not in str(responses["admin"].json())


def test_member_detail(personas: Personas, clients: dict[str, APIClient]) -> None:
    url = member_url(personas.org.pk, personas.member.pk)
    responses = check_access(clients, "get", url, allowed=("admin", "member", "viewer"), ok=200)
    body = responses["viewer"].json()
    assert body["username"] == "mike" and body["role"] == "member"
    # A user who exists but is in another organization only is not a member here.
    assert_problem(clients["admin"].get(member_url(personas.org.pk, personas.outsider.pk)), 404)


@pytest.mark.django_db(transaction=True)  # the worker sends the mail (tests/worker.py)
def test_add_member_is_admin_only_and_invites(
    personas: Personas, clients: dict[str, APIClient], mailbox
) -> None:
    newbie = with_address("nina")
    responses = check_access(
        clients,
        "post",
        members_url(personas.org.pk),
        allowed=("admin",),
        ok=202,
        body={"username": "nina", "role": "member"},
    )
    body = responses["admin"].json()
    assert body["username"] == "nina" and body["role"] == "member"
    assert body["state"] == "pending" and body["email"] == "***@example.org"
    assert Invitation.objects.get(pk=body["id"]).invitee == newbie
    assert role_in(personas.org, newbie) is None  # a member only once nina accepts
    run_worker()  # the request only queued the mail
    assert "/invites/" in mailbox.last_to("nina@example.org").get_content()
    assert_bearer_challenge(responses["anonymous"])


@pytest.mark.django_db(transaction=True)  # the worker sends the mail (tests/worker.py)
def test_added_member_defaults_to_viewer_and_needs_an_address(
    personas: Personas, clients: dict[str, APIClient], mailbox
) -> None:
    body = assert_problem(
        clients["admin"].post(members_url(personas.org.pk), {"username": "oscar"}, format="json"),
        400,
        field="username",
    )
    assert "no e-mail address" in body["detail"]
    run_worker()
    assert not Invitation.objects.exists() and not mailbox.messages
    personas.outsider.email = "oscar@example.org"
    personas.outsider.save(update_fields=["email"])
    response = clients["admin"].post(
        members_url(personas.org.pk), {"username": "oscar"}, format="json"
    )
    assert response.status_code == 202, response.content
    assert response.json()["role"] == "viewer"
    # Not a member until oscar accepts: org A is still not found for him.
    assert_problem(clients["outsider"].get(org_url(personas.org.pk)), 404)
    assert_problem(
        clients["outsider"].post(members_url(personas.org.pk), {"username": "x"}, format="json"),
        404,
    )


def test_add_unknown_username_is_400_naming_username(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    before = Membership.objects.count()
    body = assert_problem(
        clients["admin"].post(
            members_url(personas.org.pk), {"username": "nobody", "role": "viewer"}, format="json"
        ),
        400,
        field="username",
    )
    assert "nobody" in body["detail"]
    assert_problem(
        clients["admin"].post(members_url(personas.org.pk), {"role": "viewer"}, format="json"),
        400,
        field="username",
    )
    assert Membership.objects.count() == before


def test_add_existing_member_is_409_and_keeps_their_role(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    assert_problem(
        clients["admin"].post(
            members_url(personas.org.pk), {"username": "vera", "role": "admin"}, format="json"
        ),
        409,
    )
    assert role_in(personas.org, personas.viewer) == Role.VIEWER


@pytest.mark.parametrize("role", ["owner", "", "ADMIN"])
def test_add_with_a_bad_role_is_400_naming_role(
    personas: Personas, clients: dict[str, APIClient], role: str
) -> None:
    make_user("nina")
    assert_problem(
        clients["admin"].post(
            members_url(personas.org.pk), {"username": "nina", "role": role}, format="json"
        ),
        400,
        field="role",
    )
    assert not Membership.objects.filter(user__username="nina").exists()


def test_change_role_is_admin_only(personas: Personas, clients: dict[str, APIClient]) -> None:
    url = member_url(personas.org.pk, personas.viewer.pk)
    responses = check_access(
        clients, "put", url, allowed=("admin",), ok=200, body={"role": "member"}
    )
    assert responses["admin"].json()["role"] == "member"
    assert role_in(personas.org, personas.viewer) == Role.MEMBER
    assert clients["viewer"].get(org_url(personas.org.pk)).json()["role"] == "member"
    assert_bearer_challenge(responses["anonymous"])


def test_change_role_with_a_bad_role_is_400_naming_role(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    url = member_url(personas.org.pk, personas.viewer.pk)
    assert_problem(
        clients["admin"].put(url, {"role": "superuser"}, format="json"), 400, field="role"
    )
    assert_problem(clients["admin"].put(url, {}, format="json"), 400, field="role")
    assert role_in(personas.org, personas.viewer) == Role.VIEWER


def test_change_role_of_a_non_member_is_404(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    url = member_url(personas.org.pk, personas.outsider.pk)
    assert_problem(clients["admin"].put(url, {"role": "admin"}, format="json"), 404)
    assert role_in(personas.org, personas.outsider) is None


def test_remove_member_is_admin_only_and_the_removed_user_loses_the_org(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    nina = make_user("nina")
    Membership.objects.create(user=nina, organization=personas.org, role=Role.MEMBER)
    nina_client = token_client(nina)
    assert nina_client.get(org_url(personas.org.pk)).status_code == 200
    url = member_url(personas.org.pk, nina.pk)
    responses = check_access(clients, "delete", url, allowed=("admin",), ok=204)
    assert responses["admin"].content == b""
    assert_bearer_challenge(responses["anonymous"])
    assert role_in(personas.org, nina) is None
    assert User.objects.filter(pk=nina.pk).exists()  # only the membership went
    body = assert_problem(nina_client.get(org_url(personas.org.pk)), 404)
    assert body["detail"] == ORG_NOT_FOUND
    assert_problem(nina_client.get(members_url(personas.org.pk)), 404)
    assert nina_client.get(ORGS).json() == []
    assert_problem(clients["admin"].delete(url), 404)


def test_the_last_admin_can_be_neither_demoted_nor_removed(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    url = member_url(personas.org.pk, personas.admin.pk)
    for role in ("member", "viewer"):
        assert_problem(clients["admin"].put(url, {"role": role}, format="json"), 409)
    assert_problem(clients["admin"].delete(url), 409)
    assert role_in(personas.org, personas.admin) == Role.ADMIN
    # Keeping the admin role is no demotion.
    assert clients["admin"].put(url, {"role": "admin"}, format="json").status_code == 200


def test_with_a_second_admin_the_first_can_step_down_and_then_the_second_is_the_last(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    promote = clients["admin"].put(
        member_url(personas.org.pk, personas.member.pk), {"role": "admin"}, format="json"
    )
    assert promote.status_code == 200, promote.content
    demote_self = clients["admin"].put(
        member_url(personas.org.pk, personas.admin.pk), {"role": "viewer"}, format="json"
    )
    assert demote_self.status_code == 200, demote_self.content
    assert role_in(personas.org, personas.admin) == Role.VIEWER
    # Alice is a viewer now: she can no longer manage members.
    assert_problem(clients["admin"].delete(member_url(personas.org.pk, personas.viewer.pk)), 403)
    # Mike is the only admin left.
    mike = member_url(personas.org.pk, personas.member.pk)
    assert_problem(clients["member"].put(mike, {"role": "member"}, format="json"), 409)
    assert_problem(clients["member"].delete(mike), 409)
    assert (
        clients["member"].delete(member_url(personas.org.pk, personas.admin.pk)).status_code == 204
    )
    assert role_in(personas.org, personas.admin) is None


def test_an_admin_of_another_org_cannot_touch_this_orgs_members(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    oscar = clients["outsider"]
    org = personas.org.pk
    attempts = [
        oscar.get(members_url(org)),
        oscar.get(member_url(org, personas.viewer.pk)),
        oscar.post(members_url(org), {"username": "oscar", "role": "admin"}, format="json"),
        oscar.put(member_url(org, personas.admin.pk), {"role": "viewer"}, format="json"),
        oscar.delete(member_url(org, personas.viewer.pk)),
    ]
    details = {assert_problem(response, 404)["detail"] for response in attempts}
    assert details == {ORG_NOT_FOUND}
    assert list(
        Membership.objects.filter(organization=personas.org)
        .order_by("user__username")
        .values_list("user__username", "role")
    ) == [("alice", "admin"), ("mike", "member"), ("vera", "viewer")]


def test_an_admin_cannot_reach_another_orgs_member_through_their_own_org(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    url = member_url(personas.org.pk, personas.outsider.pk)
    assert_problem(clients["admin"].put(url, {"role": "viewer"}, format="json"), 404)
    assert_problem(clients["admin"].delete(url), 404)
    assert role_in(personas.other_org, personas.outsider) == Role.ADMIN
