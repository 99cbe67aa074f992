"""Provider-backed identities stay tied to their provider, and OIDC bearers are verified here.

Replays, against real slapd + Dex, the GitHub stand-in, OpenBao (for ``manage.py periodic``),
an SMTP server and loopback listeners:

* an LDAP- or GitHub-only account setting a local password (directly or by a reset mail);
* a GitHub member removed from the GitHub organization keeping the membership and the API
  token minted under it;
* a forged, expired, foreign or wrong-audience JWT as a bearer (and Dex's userinfo endpoint
  being called for every bearer);
* an old Dex token bringing back the groups it was issued with.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import jwt
import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialToken
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts import jwks
from accounts import services as account_services
from accounts.models import OidcIdentity
from audit.models import AuditEvent
from orgs import services
from orgs.models import ApiToken, Membership, Role, User
from tests.conftest import Personas
from tests.github_standin import GitHubStandIn
from tests.helpers import assert_problem
from tests.listener import Listener, http_answer
from tests.schema_check import CheckedAPIClient
from tests.sso_fixtures import Mailbox, dex_sign_in, dex_tokens
from tests.test_signin_github import github_sign_in, link, signed_in_user
from tests.worker import returned, run_worker
from tools.devstack.pytest_plugin import GROUPS, PEOPLE, Dex

pytestmark = pytest.mark.django_db(transaction=True)

RECHECK = "accounts.tasks.recheck_providers"


@pytest.fixture(autouse=True)
def operator_trusts_the_providers(settings) -> None:
    """These tests are about provider-backed accounts: the operator trusts the linked GitHub
    organization and directory groups and lets both providers sign people up
    (tests/test_security_consent.py covers them closed)."""
    settings.GITHUB_TRUSTED_ORGS = ["*"]
    settings.LDAP_TRUSTED_GROUPS = ["*"]
    settings.SOCIAL_SIGNUP = "open"


NEW_PASSWORD = "a brand new local passphrase"


def bearer(token: str) -> CheckedAPIClient:
    client = CheckedAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def ldap_user(server: Dex, username: str) -> tuple[Client, User]:
    client = dex_sign_in(server, username)
    return client, User.objects.get(pk=client.session["_auth_user_id"])


def assert_no_password_set(client: Client, user: User, label: str) -> None:
    page = client.get("/accounts/password/set/")
    assert page.status_code == 403 and label in page.content.decode()
    posted = client.post(
        "/accounts/password/set/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert posted.status_code == 403
    # allauth's change page sends a password-less account to the set page, refused too.
    assert client.get("/accounts/password/change/", follow=True).status_code == 403
    user.refresh_from_db()
    assert not user.has_usable_password()


def assert_no_local_sign_in(user: User) -> None:
    client = Client()
    client.post("/accounts/login/", {"login": user.username, "password": NEW_PASSWORD})
    assert "_auth_user_id" not in client.session


# --------------------------------------------------------------------------- local passwords


def test_an_ldap_only_user_cannot_set_a_local_password_nor_sign_in_locally(
    personas: Personas, ldap_signin: Dex
) -> None:
    client, user = ldap_user(ldap_signin, "carol")
    assert_no_password_set(client, user, "LDAP")
    assert_no_local_sign_in(user)


def test_a_github_only_user_cannot_set_a_password_by_the_reset_mail(
    personas: Personas, github: GitHubStandIn, mailbox: Mailbox
) -> None:
    github.add("octo", email="octo@example.org")
    client = github_sign_in(Client(), github, "octo")
    user = signed_in_user(client)
    assert user is not None
    assert_no_password_set(client, user, "GitHub")
    # An address of the account's own (as the e-mail page adds one), verified.
    EmailAddress.objects.update_or_create(
        user=user, email="octo@example.org", defaults={"verified": True, "primary": True}
    )
    Client().post("/accounts/password/reset/", {"email": "octo@example.org"})
    run_worker()  # the request only queued the mail
    mail = mailbox.last_to("octo@example.org").get_content()
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+/", mail)
    assert link is not None, mail
    stranger = Client()  # whoever holds the mailbox, not signed in
    form = stranger.get(urllib.parse.urlsplit(link.group(0)).path, follow=True)
    assert form.status_code == 403 and "GitHub" in form.content.decode()
    action = form.redirect_chain[-1][0]
    answer = stranger.post(action, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert answer.status_code == 403
    user.refresh_from_db()
    assert not user.has_usable_password()
    assert_no_local_sign_in(user)


def test_the_operator_may_allow_local_passwords(
    personas: Personas, ldap_signin: Dex, settings
) -> None:
    settings.PROVIDER_LOCAL_PASSWORDS = True
    client, user = ldap_user(ldap_signin, "carol")
    client.post("/accounts/password/set/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    user.refresh_from_db()
    assert user.has_usable_password()


# --------------------------------------------------------------------------- GitHub re-check


def github_member_with_token(personas: Personas, github: GitHubStandIn) -> tuple[User, str]:
    """octo, in the linked GitHub organization, signed in, with a token limited to org-a."""
    link(personas)
    github.add("octo", orgs={"acme-gh"})
    user = signed_in_user(github_sign_in(Client(), github, "octo"))
    assert user is not None
    _, raw = services.token_create(user=user, name="ci", organization_id=personas.org.pk)
    token = ApiToken.objects.get(user=user)
    assert token.provider_source == "github"
    assert token.provider_membership == Membership.objects.get(user=user)
    return user, raw


def members_url(personas: Personas) -> str:
    return f"/api/v1/orgs/{personas.org.pk}/members"


def test_leaving_the_github_org_ends_membership_and_token_at_the_periodic_recheck(
    personas: Personas, github: GitHubStandIn, vault
) -> None:
    user, raw = github_member_with_token(personas, github)
    assert bearer(raw).get(members_url(personas)).status_code == 200
    kept = SocialToken.objects.get(account__user=user).token
    assert not any(token in kept for token in github.tokens)  # kept encrypted

    github.users["octo"].orgs.discard("acme-gh")
    github.requests.clear()
    out = StringIO()
    later = timezone.now() + timedelta(hours=2)
    call_command("periodic", only=["orgs.provider-recheck"], now=later, stdout=out)
    # The command only queued the re-check: GitHub is asked by the worker.
    assert "orgs.provider-recheck: queued 1" in out.getvalue() and not github.requests
    assert run_worker() == 1
    assert returned(RECHECK)[0]["github-checked"] == 1
    assert "GET /api/v3/user/orgs" in github.requests
    assert not Membership.objects.filter(user=user).exists()
    actions = set(
        AuditEvent.objects.filter(organization=personas.org, target_name="octo").values_list(
            "action", flat=True
        )
    )
    assert {"member.sync.remove", "token.sync.revoke"} <= actions
    assert_problem(bearer(raw).get(members_url(personas)), 401)


def test_a_github_token_rechecks_at_use_once_per_interval(
    personas: Personas, github: GitHubStandIn
) -> None:
    user, raw = github_member_with_token(personas, github)
    github.requests.clear()
    api = bearer(raw)
    assert api.get(members_url(personas)).status_code == 200  # just confirmed: no call
    github.users["octo"].orgs.discard("acme-gh")
    for _ in range(3):  # within the interval: no call, the row says it was checked
        assert api.get(members_url(personas)).status_code == 200
    assert not any("/user/orgs" in r for r in github.requests)

    an_interval_ago = timezone.now() - timedelta(seconds=3601)
    ApiToken.objects.filter(user=user).update(provider_checked_at=an_interval_ago)
    Membership.objects.filter(user=user).update(provider_checked_at=an_interval_ago)
    assert_problem(api.get(members_url(personas)), 401)
    assert github.requests.count("GET /api/v3/user/orgs") == 1
    assert not Membership.objects.filter(user=user).exists()
    assert ApiToken.objects.get(user=user).revoked_at is not None


def test_a_github_app_revoked_at_github_ends_the_memberships(
    personas: Personas, github: GitHubStandIn, vault
) -> None:
    user, raw = github_member_with_token(personas, github)
    github.tokens.clear()  # GitHub answers 401 to the kept token from now on
    out = StringIO()
    later = timezone.now() + timedelta(hours=2)
    call_command("periodic", only=["orgs.provider-recheck"], now=later, stdout=out)
    assert "orgs.provider-recheck: queued 1" in out.getvalue() and run_worker() == 1
    assert returned(RECHECK)[0]["github-ended"] == 1
    assert not Membership.objects.filter(user=user).exists()
    assert_problem(bearer(raw).get(members_url(personas)), 401)


def test_an_ldap_token_needs_a_recent_ldap_sign_in(personas: Personas, ldap_signin: Dex) -> None:
    account_services.group_mapping_set(
        actor=personas.admin, organization=personas.org, group="developers", role=Role.MEMBER
    )
    _, user = ldap_user(ldap_signin, "bob")
    _, raw = services.token_create(user=user, name="ci", organization_id=personas.org.pk)
    api = bearer(raw)
    assert api.get(members_url(personas)).status_code == 200
    long_ago = timezone.now() - timedelta(days=15)
    ApiToken.objects.filter(user=user).update(provider_checked_at=long_ago)
    Membership.objects.filter(user=user).update(provider_checked_at=long_ago)
    assert_problem(api.get(members_url(personas)), 401)
    ldap_user(ldap_signin, "bob")  # the directory confirms the membership again
    assert api.get(members_url(personas)).status_code == 200


# --------------------------------------------------------------------------- OIDC bearers

ISSUER = "http://127.0.0.1:9/fake-dex"
CLIENT = "pipeline-secrets"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_body(key: rsa.RSAPrivateKey, kid: str) -> str:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return json.dumps({"keys": [{**jwk, "kid": kid, "alg": "RS256", "use": "sig"}]})


def serve_json(body: str) -> Listener:
    return Listener(http_answer("200 OK", body, content_type="application/json"))


@pytest.fixture
def listeners() -> Iterator[list[Listener]]:
    made: list[Listener] = []
    yield made
    for listener in made:
        listener.close()


def mint(key: Any, kid: str = "k1", **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": CLIENT, "sub": "sub-1", "iat": now, "exp": now + 600, **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def test_forged_expired_and_foreign_jwts_are_refused_without_calling_the_provider(
    personas: Personas, settings, listeners: list[Listener]
) -> None:
    key = rsa_key()
    keys = serve_json(jwks_body(key, "k1"))
    userinfo = Listener()
    listeners += [keys, userinfo]
    settings.OIDC_ISSUER, settings.OIDC_RP_CLIENT_ID = ISSUER, CLIENT
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{ISSUER}/auth"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{keys.origin}/keys"
    settings.OIDC_OP_USER_ENDPOINT = f"{userinfo.origin}/userinfo"
    OidcIdentity.objects.create(user=personas.member, issuer=ISSUER, subject="sub-1")
    url = members_url(personas)

    assert bearer(mint(key)).get(url).status_code == 200  # the control: a good one works
    now = int(time.time())
    refused = [
        mint(key, exp=now - 60),  # expired
        mint(key, aud="another-client"),  # issued to another client
        mint(key, iss="http://127.0.0.1:9/other"),  # another issuer
        mint(rsa_key()),  # signed with a key that is not the issuer's
        mint(rsa_key(), kid="unknown"),  # a made-up key id
        mint(key, sub="sub-2"),  # an identity nobody signed in with
        jwt.encode({"iss": ISSUER, "aud": CLIENT, "sub": "sub-1"}, "k" * 32, algorithm="HS256"),
        "not.a.jwt",
        mint(key).rsplit(".", 1)[0] + ".c2lnbmF0dXJl",
    ]
    for token in refused:
        assert_problem(bearer(token).get(url), 401)
    assert userinfo.connections == 0
    assert keys.connections == 1  # read once; the made-up key id waits for the window


def dex_keys(server: Dex) -> str:
    url = requests.get(f"{server.issuer}/.well-known/openid-configuration", timeout=10).json()
    return requests.get(url["jwks_uri"], timeout=10).text


def test_a_dex_token_works_with_no_call_per_request(
    personas: Personas, ldap_signin: Dex, settings, listeners: list[Listener]
) -> None:
    account_services.group_mapping_set(
        actor=personas.admin, organization=personas.org, group="developers", role=Role.MEMBER
    )
    ldap_user(ldap_signin, "bob")
    tokens = dex_tokens(ldap_signin, "bob")
    keys, userinfo = serve_json(dex_keys(ldap_signin)), Listener()
    listeners += [keys, userinfo]
    settings.OIDC_OP_JWKS_ENDPOINT = f"{keys.origin}/keys"
    settings.OIDC_OP_USER_ENDPOINT = f"{userinfo.origin}/userinfo"
    for _ in range(5):
        assert bearer(tokens.access_token).get(members_url(personas)).status_code == 200
    head, payload, signature = tokens.access_token.split(".")
    assert_problem(bearer(f"{head}.{payload}.{signature[:-4]}AAAA").get("/api/v1/orgs"), 401)
    assert userinfo.connections == 0 and keys.connections == 1
    assert jwks.KEYS.key(settings.OIDC_OP_JWKS_ENDPOINT, "") is None  # no key without a kid


def set_group_member(server: Dex, uid: str, group: str, *, present: bool) -> None:
    verb = "add" if present else "delete"
    server.slapd.modify(
        f"dn: cn={group},{GROUPS}\nchangetype: modify\n{verb}: member\nmember: uid={uid},{PEOPLE}\n"
    )


def test_an_old_token_does_not_bring_back_a_removed_group(
    personas: Personas, ldap_signin: Dex
) -> None:
    account_services.group_mapping_set(
        actor=personas.admin, organization=personas.org, group="developers", role=Role.MEMBER
    )
    _, user = ldap_user(ldap_signin, "bob")
    old = dex_tokens(ldap_signin, "bob").access_token  # carries groups: [developers]
    assert "developers" in jwt.decode(old, options={"verify_signature": False})["groups"]
    set_group_member(ldap_signin, "bob", "developers", present=False)
    try:
        ldap_user(ldap_signin, "bob")  # the directory says: no longer a developer
        assert not Membership.objects.filter(user=user).exists()
        client = bearer(old)
        assert client.get("/api/v1/orgs").json() == []
        assert_problem(client.get(members_url(personas)), 404)
        assert not Membership.objects.filter(user=user).exists()
    finally:
        set_group_member(ldap_signin, "bob", "developers", present=True)


def test_a_bearer_for_an_identity_never_signed_in_is_refused(
    personas: Personas, ldap_signin: Dex
) -> None:
    token = dex_tokens(ldap_signin, "carol").access_token
    assert_problem(bearer(token).get("/api/v1/orgs"), 401)
    assert not OidcIdentity.objects.exists()
