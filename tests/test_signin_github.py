"""GitHub sign-in through allauth against the local GitHub stand-in (real HTTP on
127.0.0.1), and the synchronisation of linked organizations at each sign-in."""

from __future__ import annotations

import urllib.parse

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import SESSION_KEY
from django.test import Client

from accounts import services as account_services
from audit.models import AuditEvent
from orgs.models import Membership, Role, Source, User
from tests.conftest import Personas
from tests.github_standin import GitHubStandIn

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def operator_trusts_github(settings) -> None:
    """These tests are about synchronisation: the operator trusts the linked GitHub
    organization and lets GitHub sign up (tests/test_security_consent.py covers both off)."""
    settings.GITHUB_TRUSTED_ORGS = ["acme-gh"]
    settings.SOCIAL_SIGNUP = "open"


def github_sign_in(client: Client, standin: GitHubStandIn, login: str) -> Client:
    """The whole OAuth round trip: our form → GitHub's authorize → our callback."""
    standin.signed_in = login
    start = client.post("/accounts/github/login/")
    assert start.status_code == 302, start.content[:300]
    assert start["Location"].startswith(standin_url(standin))
    session = requests.Session()
    session.trust_env = False
    approved = session.get(start["Location"], allow_redirects=False, timeout=10)
    assert approved.status_code == 302, approved.text
    back = urllib.parse.urlsplit(approved.headers["Location"])
    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302, done.content[:500]
    return client


def standin_url(standin: GitHubStandIn) -> str:
    assert standin.server is not None
    host, port = standin.server.server_address[:2]
    return f"http://{host!s}:{port}"


def signed_in_user(client: Client) -> User | None:
    user_id = client.session.get(SESSION_KEY)
    return User.objects.filter(pk=user_id).first() if user_id else None


def link(personas: Personas, **kwargs) -> None:
    account_services.github_link_set(
        actor=personas.admin,
        organization=personas.org,
        github_org=kwargs.pop("github_org", "acme-gh"),
        default_role=kwargs.pop("default_role", Role.VIEWER),
        team_roles=kwargs.pop("team_roles", {}),
    )


def test_github_sign_in_joins_linked_orgs_and_leaving_removes(
    personas: Personas, github: GitHubStandIn
) -> None:
    link(personas, team_roles={"platform": Role.ADMIN, "devs": Role.MEMBER})
    github.add("octo", orgs={"acme-gh", "elsewhere"}, teams={("acme-gh", "devs")})
    client = github_sign_in(Client(), github, "octo")
    user = signed_in_user(client)
    assert user is not None and user.username == "octo"
    membership = Membership.objects.get(user=user, organization=personas.org)
    assert membership.role == Role.MEMBER and membership.source == "github"
    assert not Membership.objects.filter(user=user, organization=personas.other_org).exists()
    assert any("read:org" in scope for scope in github.scopes)
    assert "GET /api/v3/user/orgs" in github.requests
    assert client.get(f"/orgs/{personas.org.pk}/secrets/").status_code in (200, 503)

    # Promoted to the platform team: the next sign-in makes them admin.
    github.users["octo"].teams.add(("acme-gh", "platform"))
    github_sign_in(Client(), github, "octo")
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN

    # Left the GitHub organization: the next sign-in removes the membership.
    github.users["octo"].orgs.discard("acme-gh")
    github_sign_in(Client(), github, "octo")
    assert not Membership.objects.filter(user=user, organization=personas.org).exists()
    actions = list(
        AuditEvent.objects.filter(organization=personas.org, target_name="octo").values_list(
            "action", flat=True
        )
    )
    assert {"member.sync.add", "member.sync.role", "member.sync.remove"} <= set(actions)
    sign_ins = AuditEvent.objects.filter(action="signin", actor="octo")
    assert sign_ins.exists() and all(e.detail["source"] == "github" for e in sign_ins)


def test_synchronisation_leaves_other_memberships_alone(
    personas: Personas, github: GitHubStandIn
) -> None:
    link(personas)
    github.add("octo", orgs=set())
    client = github_sign_in(Client(), github, "octo")
    user = signed_in_user(client)
    assert user is not None
    Membership.objects.create(  # octo accepted an invitation
        user=user, organization=personas.org, role=Role.MEMBER, source=Source.INVITATION
    )
    github_sign_in(Client(), github, "octo")
    assert Membership.objects.get(user=user, organization=personas.org).role == Role.MEMBER


def test_github_never_takes_over_an_account_by_email(
    personas: Personas, github: GitHubStandIn
) -> None:
    """The classic social-login takeover: a GitHub account claiming the address of an
    existing local account must not sign in as it, verified on GitHub or not."""
    dave = User.objects.create_user(
        username="dave", email="dave@example.org", password="daves-own-passphrase"
    )
    EmailAddress.objects.create(user=dave, email="dave@example.org", verified=True, primary=True)
    Membership.objects.create(
        user=dave, organization=personas.org, role=Role.MEMBER, source=Source.INVITATION
    )
    for verified in (False, True):
        github.users.clear()
        github.add("dave", email="dave@example.org", email_verified=verified)
        client = Client()
        github.signed_in = "dave"
        start = client.post("/accounts/github/login/")
        session = requests.Session()
        session.trust_env = False
        approved = session.get(start["Location"], allow_redirects=False, timeout=10)
        back = urllib.parse.urlsplit(approved.headers["Location"])
        client.get(f"{back.path}?{back.query}")
        assert signed_in_user(client) != dave
        assert client.get(f"/orgs/{personas.org.pk}/members/").status_code in (302, 404)
    assert not SocialAccount.objects.filter(user=dave).exists()


def test_sign_in_page_shows_the_configured_buttons_only(personas: Personas, settings) -> None:
    page = Client().get("/accounts/login/").content.decode()
    assert "Sign in with GitHub" in page
    assert "Sign in with LDAP" not in page  # no issuer configured in this test
    settings.GITHUB_CLIENT_ID = ""
    page = Client().get("/accounts/login/").content.decode()
    assert "Sign in with GitHub" not in page
    settings.OIDC_ISSUER = "http://127.0.0.1:9/dex"
    settings.OIDC_RP_CLIENT_ID = "pipeline-secrets"
    page = Client().get("/accounts/login/").content.decode()
    assert "Sign in with LDAP" in page
