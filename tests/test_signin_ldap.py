"""LDAP through Dex, without a browser: Dex's tokens as API bearers, with the roles the
directory groups map to at the holder's interactive sign-in. Real slapd and Dex (built from
its module), started per session."""

from __future__ import annotations

import time

import pytest

from accounts import services as account_services
from accounts.models import OidcIdentity
from audit.models import AuditEvent
from orgs.models import Membership, Role, User
from tests.conftest import Personas
from tests.helpers import assert_problem
from tests.schema_check import CheckedAPIClient
from tests.sso_fixtures import dex_sign_in, dex_tokens, use_dex
from tools.devstack.pytest_plugin import Dex

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def operator_trusts_the_directory(settings) -> None:
    """The operator trusts every directory group and lets the directory sign up
    (tests/test_security_consent.py covers both off)."""
    settings.LDAP_TRUSTED_GROUPS = ["*"]
    settings.SOCIAL_SIGNUP = "open"


def bearer(token: str) -> CheckedAPIClient:
    client = CheckedAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def map_group(personas: Personas, group: str, role: str) -> None:
    account_services.group_mapping_set(
        actor=personas.admin, organization=personas.org, group=group, role=role
    )


def test_a_dex_access_token_acts_with_the_mapped_role(personas: Personas, ldap_signin: Dex) -> None:
    map_group(personas, "developers", Role.MEMBER)
    dex_sign_in(ldap_signin, "alice")  # the groups are applied here, not by the bearer
    tokens = dex_tokens(ldap_signin, "alice")
    client = bearer(tokens.access_token)
    members = client.get(f"/api/v1/orgs/{personas.org.pk}/members")
    assert members.status_code == 200, members.content
    # The directory's alice is a new account, not the product's existing alice.
    identity = OidcIdentity.objects.get(subject__isnull=False)
    assert identity.user != personas.admin and identity.user.username != "alice"
    membership = Membership.objects.get(user=identity.user, organization=personas.org)
    assert membership.role == Role.MEMBER and membership.source == "ldap"
    # Member, not admin: inviting needs admin; another org is not found.
    assert_problem(
        client.post(
            f"/api/v1/orgs/{personas.org.pk}/invites",
            {"email": "x@example.org", "role": "viewer"},
            format="json",
        ),
        403,
    )
    assert_problem(client.get(f"/api/v1/orgs/{personas.other_org.pk}/members"), 404)
    # Token management needs a signed-in session, as with the product's own tokens.
    assert_problem(client.get("/api/v1/tokens"), 403)
    # The ID token is accepted too, as the same person.
    again = bearer(tokens.id_token).get("/api/v1/orgs")
    assert again.status_code == 200 and [o["id"] for o in again.json()] == [personas.org.pk]
    assert OidcIdentity.objects.count() == 1


def test_the_strongest_mapped_group_wins_and_unmapped_people_get_nothing(
    personas: Personas, ldap_signin: Dex
) -> None:
    map_group(personas, "developers", Role.MEMBER)
    map_group(personas, "platform-admins", Role.ADMIN)
    dex_sign_in(ldap_signin, "alice")
    dex_sign_in(ldap_signin, "carol")
    alice = bearer(dex_tokens(ldap_signin, "alice").access_token)
    assert alice.get("/api/v1/orgs").json()[0]["role"] == "admin"
    carol = bearer(dex_tokens(ldap_signin, "carol").access_token)
    assert carol.get("/api/v1/orgs").json() == []
    assert_problem(carol.get(f"/api/v1/orgs/{personas.org.pk}/members"), 404)


def test_forged_and_foreign_tokens_are_refused(personas: Personas, ldap_signin: Dex) -> None:
    map_group(personas, "developers", Role.MEMBER)
    token = dex_tokens(ldap_signin, "bob").access_token
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    assert_problem(bearer(forged).get("/api/v1/orgs"), 401)
    assert_problem(bearer("not.a.token").get("/api/v1/orgs"), 401)
    assert_problem(bearer("pst_unknown").get("/api/v1/orgs"), 401)
    assert not User.objects.filter(oidc_identities__isnull=False).exists()


@pytest.mark.slow
def test_an_expired_dex_token_is_refused(
    personas: Personas, ldap_signin: Dex, tmp_path, slapd
) -> None:
    """A Dex whose tokens live 5 seconds, on the same directory."""
    short = Dex(tmp_path / "dex-short", slapd, ldap_signin.redirect_uris, token_lifetime="5s")
    short.start()
    try:
        use_dex(short)  # ldap_signin's teardown restores the settings
        map_group(personas, "developers", Role.MEMBER)
        dex_sign_in(short, "bob")
        client = bearer(dex_tokens(short, "bob").access_token)
        assert client.get(f"/api/v1/orgs/{personas.org.pk}/members").status_code == 200
        time.sleep(7)
        assert_problem(client.get(f"/api/v1/orgs/{personas.org.pk}/members"), 401)
    finally:
        short.stop()


def test_group_mappings_are_audited(personas: Personas, ldap_signin: Dex) -> None:
    map_group(personas, "developers", Role.VIEWER)
    dex_sign_in(ldap_signin, "bob")
    actions = set(
        AuditEvent.objects.filter(organization=personas.org).values_list("action", flat=True)
    )
    assert {"org.group_mapping", "member.sync.add"} <= actions
