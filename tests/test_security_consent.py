"""Consent, replayed against the real stack: the SMTP server (aiosmtpd) that receives the
invitations, the GitHub stand-in on 127.0.0.1, Dex on the test directory (slapd).

Each test replays one way an admin, or a stranger, could act on people without their
consent, as found by the second security round, and sees it refused."""

from __future__ import annotations

import importlib
import re
import urllib.parse
from datetime import timedelta
from typing import Any

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import Client
from django.utils import timezone

from accounts import services as account_services
from accounts.models import GitHubLink, GroupMapping
from audit.models import AuditEvent
from orgs.models import Invitation, Membership, Organization, Role, Source, User
from tests.conftest import Personas, make_user, token_client
from tests.github_standin import GitHubStandIn
from tests.helpers import assert_problem
from tests.sso_fixtures import Mailbox, dex_authorize
from tests.test_dashboard import signed_in
from tests.worker import run_worker
from tools.devstack.pytest_plugin import Dex

# The worker sends the mails (tests/worker.py): it reads committed task rows.
pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"https?://[^\s]+(/invites/[A-Za-z0-9_-]+/)")
PASSWORD = "correct horse battery"  # conftest.make_user's


def invite(personas: Personas, mailbox: Mailbox, email: str, role: str = Role.ADMIN) -> str:
    """Org A's admin invites ``email`` through the API; the link's path from the mail."""
    response = token_client(personas.admin).post(
        f"/api/v1/orgs/{personas.org.pk}/invites", {"email": email, "role": role}, format="json"
    )
    assert response.status_code == 201, response.content
    run_worker()  # the request only queued the mail
    match = LINK.search(mailbox.last_to(email).get_content())
    assert match
    return match.group(1)


def link_in_mail(mailbox: Mailbox, email: str) -> str:
    run_worker()
    match = LINK.search(mailbox.last_to(email).get_content())
    assert match
    return match.group(1)


def with_address(user: User, email: str, *, verified: bool) -> User:
    user.email = email
    user.save(update_fields=["email"])
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    return user


# --------------------------------------------------------------------------- finding 2


def test_another_orgs_admin_opening_carols_invitation_is_refused_and_gains_nothing(
    personas: Personas, mailbox: Mailbox
) -> None:
    link = invite(personas, mailbox, "carol@example.org", Role.ADMIN)
    # Oscar (org B's admin) got hold of the link, even claims carol's address (unverified).
    with_address(personas.outsider, "carol@example.org", verified=False)
    oscar = signed_in(personas, "outsider")
    page = oscar.get(link).content.decode()
    assert "not a verified address of your account" in page  # said before anything is tried
    refused = oscar.post(link)
    assert refused.status_code == 403
    assert "not a verified address of your account" in refused.content.decode()
    assert not Membership.objects.filter(user=personas.outsider, organization=personas.org)
    invitation = Invitation.objects.get(email="carol@example.org")
    assert invitation.state == "pending" and invitation.accepted_by is None
    assert_problem(token_client(personas.outsider).get(f"/api/v1/orgs/{personas.org.pk}"), 404)
    refusal = AuditEvent.objects.get(action="invitation.refuse", organization=personas.org)
    assert refusal.actor == "oscar" and refusal.target_name == "carol@example.org"

    # Carol herself, with her verified address, joins as admin (signing up from the link
    # works too: tests/test_invitations.py).
    carol_user = with_address(make_user("carol"), "carol@example.org", verified=True)
    carol = Client()
    carol.force_login(carol_user)
    assert carol.post(link).status_code == 302
    joined = Membership.objects.get(user=carol_user, organization=personas.org)
    assert (joined.role, joined.source) == (Role.ADMIN, Source.INVITATION)


def test_a_verified_address_of_the_account_accepts(personas: Personas, mailbox: Mailbox) -> None:
    link = invite(personas, mailbox, "Dora@Example.org", Role.MEMBER)
    dora = with_address(make_user("dora"), "dora@example.org", verified=True)
    client = Client()
    client.force_login(dora)
    assert client.post(link).status_code == 302
    assert Membership.objects.get(user=dora, organization=personas.org).role == Role.MEMBER


def test_an_invitation_by_username_is_accepted_by_that_account_only(
    personas: Personas, mailbox: Mailbox
) -> None:
    nina = with_address(make_user("nina"), "nina@example.org", verified=False)
    invited = token_client(personas.admin).post(
        f"/api/v1/orgs/{personas.org.pk}/members",
        {"username": "nina", "role": Role.MEMBER},
        format="json",
    )
    assert invited.status_code == 202, invited.content
    link = link_in_mail(mailbox, "nina@example.org")
    # Someone else with a verified address equal to nina's is still not nina.
    with_address(personas.outsider, "NINA@example.org", verified=True)
    assert signed_in(personas, "outsider").post(link).status_code == 403
    assert not Membership.objects.filter(organization=personas.org, user=personas.outsider)
    client = Client()
    client.force_login(nina)
    assert client.post(link).status_code == 302
    assert Membership.objects.get(user=nina, organization=personas.org).role == Role.MEMBER


# --------------------------------------------------------------------------- finding 4: members


def test_adding_an_existing_username_creates_an_invitation_not_a_membership(
    personas: Personas, mailbox: Mailbox
) -> None:
    with_address(personas.outsider, "oscar@example.org", verified=True)
    admin = token_client(personas.admin)
    api = admin.post(
        f"/api/v1/orgs/{personas.org.pk}/members", {"username": "oscar"}, format="json"
    )
    assert api.status_code == 202 and api.json()["state"] == "pending"
    assert api.json()["username"] == "oscar" and "oscar@" not in api.content.decode()
    assert not Membership.objects.filter(user=personas.outsider, organization=personas.org)
    assert_problem(token_client(personas.outsider).get(f"/api/v1/orgs/{personas.org.pk}"), 404)
    # The dashboard does the same.
    with_address(make_user("pia"), "pia@example.org", verified=False)
    page = signed_in(personas, "admin").post(
        f"/orgs/{personas.org.pk}/members/add/", {"username": "pia", "role": "admin"}
    )
    assert page.status_code == 302
    assert not Membership.objects.filter(user__username="pia").exists()
    assert Invitation.objects.get(invitee__username="pia").role == Role.ADMIN
    run_worker()
    assert {m["To"] for m in mailbox.messages} == {"oscar@example.org", "pia@example.org"}


# --------------------------------------------------------------------------- finding 3: orgs


def test_staff_only_org_creation_refuses_a_plain_user(personas: Personas, settings) -> None:
    assert settings.ORG_CREATION == "staff"  # the default
    body = assert_problem(
        token_client(personas.viewer).post("/api/v1/orgs", {"name": "vera-co"}, format="json"),
        403,
    )
    assert "ORG_CREATION" in body["detail"]
    page = signed_in(personas, "viewer").post("/orgs/new/", {"name": "vera-co"})
    assert page.status_code == 403 and "staff accounts" in page.content.decode()
    home = signed_in(personas, "viewer").get("/").content.decode()
    assert 'id="org-creation-closed"' in home and 'id="new-org"' not in home
    assert not Organization.objects.filter(name="vera-co").exists()
    # A staff account (the first admin of a fresh installation is one) may.
    User.objects.filter(pk=personas.viewer.pk).update(is_staff=True)
    created = token_client(personas.viewer).post("/api/v1/orgs", {"name": "vera-co"}, format="json")
    assert created.status_code == 201, created.content
    membership = Membership.objects.get(organization__name="vera-co")
    assert (membership.user, membership.source) == (personas.viewer, Source.CREATOR)
    settings.ORG_CREATION = "anyone"
    assert signed_in(personas, "member").post("/orgs/new/", {"name": "mike-co"}).status_code == 302


# --------------------------------------------------------------------------- finding 3: sign-up


def github_round_trip(standin: GitHubStandIn, login: str) -> tuple[Client, Any]:
    """Our form → the stand-in's authorize → our callback; the client and its last answer."""
    client = Client()
    standin.signed_in = login
    start = client.post("/accounts/github/login/")
    assert start.status_code == 302, start.content[:300]
    session = requests.Session()
    session.trust_env = False
    approved = session.get(start["Location"], allow_redirects=False, timeout=10)
    back = urllib.parse.urlsplit(approved.headers["Location"])
    return client, client.get(f"{back.path}?{back.query}")


def test_a_github_stranger_cannot_sign_up_while_sign_up_is_closed(
    personas: Personas, github: GitHubStandIn, settings
) -> None:
    assert settings.SOCIAL_SIGNUP == "closed"  # the default, as local sign-up
    github.add("stranger", email="stranger@example.org", orgs={"acme-gh"})
    client, answer = github_round_trip(github, "stranger")
    assert "_auth_user_id" not in client.session
    assert "closed" in answer.content.decode().lower()
    assert not User.objects.filter(username__startswith="stranger").exists()
    assert not SocialAccount.objects.exists()


def test_a_github_sign_up_needs_an_invitation_to_a_verified_address(
    personas: Personas, github: GitHubStandIn, mailbox: Mailbox, settings
) -> None:
    invite(personas, mailbox, "gina@example.org", Role.VIEWER)
    github.add("gina-unverified", email="gina@example.org", email_verified=False)
    client, _ = github_round_trip(github, "gina-unverified")
    assert "_auth_user_id" not in client.session and not SocialAccount.objects.exists()

    github.add("gina", email="gina@example.org", email_verified=True)
    client, answer = github_round_trip(github, "gina")
    assert answer.status_code == 302 and "_auth_user_id" in client.session
    gina = User.objects.get(socialaccount__uid=str(github.users["gina"].id))
    assert EmailAddress.objects.get(user=gina).verified
    assert not Membership.objects.filter(user=gina).exists()  # only accepting makes it
    assert client.post(link_in_mail(mailbox, "gina@example.org")).status_code == 302
    assert Membership.objects.get(user=gina).organization == personas.org

    # The invitation is used up; an account already linked to GitHub still signs in.
    client, answer = github_round_trip(github, "gina")
    assert answer.status_code == 302 and client.session["_auth_user_id"] == str(gina.pk)


def ldap_round_trip(server: Dex, username: str) -> Client:
    """ "Sign in with LDAP": our start, Dex's form, our callback; the client, signed in or not."""
    client = Client(HTTP_HOST=urllib.parse.urlsplit(server.redirect_uris[-1]).netloc)
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302, start.content[:300]
    back = urllib.parse.urlsplit(dex_authorize(server, start["Location"], username, None))
    client.get(f"{back.path}?{back.query}")
    return client


@pytest.mark.django_db(transaction=True)
def test_a_directory_stranger_gets_no_account_while_sign_up_is_closed(
    personas: Personas, ldap_signin: Dex, settings
) -> None:
    settings.LDAP_TRUSTED_GROUPS = ["*"]
    account_services.group_mapping_set(
        actor=personas.admin, organization=personas.org, group="developers", role=Role.MEMBER
    )
    assert "_auth_user_id" not in ldap_round_trip(ldap_signin, "bob").session
    assert not User.objects.filter(oidc_identities__isnull=False).exists()
    assert not Membership.objects.filter(source=Source.LDAP).exists()
    # A pending invitation to the address the directory verified opens it for that person.
    Invitation.objects.create(
        organization=personas.other_org,
        email="BOB@example.org",
        token_hash="0" * 64,
        invited_by="oscar",
        expires_at=timezone.now() + timedelta(days=1),
    )
    assert "_auth_user_id" in ldap_round_trip(ldap_signin, "bob").session
    bob = User.objects.get(oidc_identities__isnull=False)
    address = EmailAddress.objects.get(user=bob)
    assert address.email == "bob@example.org" and address.verified
    assert "_auth_user_id" not in ldap_round_trip(ldap_signin, "carol").session
    settings.SOCIAL_SIGNUP = "open"  # the operator opens it: carol gets an account
    assert "_auth_user_id" in ldap_round_trip(ldap_signin, "carol").session


# --------------------------------------------------------------------------- finding 4: links


def test_linking_an_untrusted_github_org_or_group_is_refused(personas: Personas, settings) -> None:
    admin = signed_in(personas, "admin")
    base = f"/orgs/{personas.org.pk}/settings/"
    github = admin.post(f"{base}github/", {"github_org": "victims-org", "default_role": "viewer"})
    assert github.status_code == 400
    assert "GITHUB_TRUSTED_ORGS" in str(github.context["github_form"].errors["github_org"])
    group = admin.post(f"{base}groups/", {"group": "payroll", "role": "viewer"})
    assert group.status_code == 400
    assert "LDAP_TRUSTED_GROUPS" in str(group.context["group_form"].errors["group"])
    assert not GitHubLink.objects.exists() and not GroupMapping.objects.exists()

    settings.GITHUB_TRUSTED_ORGS = ["Acme-GH"]
    settings.LDAP_TRUSTED_GROUPS = ["acme-*"]
    assert admin.post(f"{base}github/", {"github_org": "victims-org"}).status_code == 400
    assert admin.post(f"{base}groups/", {"group": "payroll", "role": "viewer"}).status_code == 400
    assert (
        admin.post(f"{base}github/", {"github_org": "acme-gh", "default_role": "viewer"})
    ).status_code == 302
    assert admin.post(f"{base}groups/", {"group": "acme-devs", "role": "viewer"}).status_code == 302
    assert GitHubLink.objects.get().github_org == "acme-gh"
    assert GroupMapping.objects.get().group == "acme-devs"
    settings.GITHUB_TRUSTED_ORGS = ["*"]
    assert (
        admin.post(f"{base}github/", {"github_org": "any-org", "default_role": "viewer"})
    ).status_code == 302


# --------------------------------------------------------------------------- finding 4: events


def test_sign_in_events_of_a_non_consenting_user_stay_out_of_the_admins_activity(
    personas: Personas,
) -> None:
    # As the old "add member" did: oscar put into org A without being asked.
    Membership.objects.create(user=personas.outsider, organization=personas.org, role="viewer")
    browser = Client()
    assert browser.post("/accounts/login/", {"login": "oscar", "password": "wrong"}).status_code
    assert browser.post("/accounts/login/", {"login": "oscar", "password": PASSWORD}).status_code
    assert "_auth_user_id" in browser.session
    mine = AuditEvent.objects.filter(target_type="user", target_id=str(personas.outsider.pk))
    assert not mine.filter(organization=personas.org).exists()
    activity = signed_in(personas, "admin").get(f"/orgs/{personas.org.pk}/activity/?kind=signin")
    assert "oscar" not in activity.content.decode()
    api = token_client(personas.admin).get(f"/api/v1/orgs/{personas.org.pk}/audit?action=signin")
    assert all(e["targetName"] != "oscar" for e in api.json())
    # Org B, which oscar created, sees them; so does oscar, in his own security log.
    assert {"signin", "signin.fail"} <= set(
        mine.filter(organization=personas.other_org).values_list("action", flat=True)
    )
    log = browser.get("/account/security/").content.decode()
    assert "signin.fail" in log and 'id="security-events"' in log
    own = Client()
    own.force_login(personas.outsider)
    events = own.get("/api/v1/me/security-events").json()
    assert {"signin", "signin.fail"} <= {e["action"] for e in events}
    assert token_client(personas.outsider).get("/api/v1/me/security-events").status_code == 403
    # vera accepted her invitation: org A's admins see her sign-ins.
    Client().post("/accounts/login/", {"login": "vera", "password": PASSWORD})
    assert AuditEvent.objects.filter(
        action="signin", organization=personas.org, target_name="vera"
    ).exists()


def test_a_github_membership_counts_as_consent_only_while_the_link_is_trusted(
    personas: Personas, settings
) -> None:
    settings.GITHUB_TRUSTED_ORGS = ["acme-gh"]
    GitHubLink.objects.create(organization=personas.org, github_org="acme-gh")
    octo = make_user("octo")
    Membership.objects.create(user=octo, organization=personas.org, source=Source.GITHUB)
    Client().post("/accounts/login/", {"login": "octo", "password": "wrong"})
    assert AuditEvent.objects.filter(organization=personas.org, target_name="octo").exists()
    settings.GITHUB_TRUSTED_ORGS = []  # the operator no longer trusts it
    AuditEvent.objects.filter(target_name="octo").delete()
    Client().post("/accounts/login/", {"login": "octo", "password": "wrong"})
    assert not AuditEvent.objects.filter(organization=personas.org, target_name="octo").exists()
    assert AuditEvent.objects.filter(organization=None, target_name="octo").exists()


def test_the_migration_marks_existing_creators(personas: Personas) -> None:
    """Organizations made before consent: their creator (from the org.create event) counts
    as having consented; anyone an admin added directly does not."""
    Membership.objects.update(source="")
    migration = importlib.import_module("orgs.migrations.0007_consent")
    # The models as that migration saw them (the audit trail was still orgs' then).
    state = MigrationLoader(connection).project_state(("orgs", "0007_consent"))
    migration.mark_creators(state.apps, None)
    sources = dict(
        Membership.objects.filter(organization=personas.org).values_list("user__username", "source")
    )
    assert sources == {"alice": Source.CREATOR, "mike": "", "vera": ""}
