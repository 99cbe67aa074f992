"""Invitations replace admin-made accounts: a mail through a real SMTP server, a single-use
link, sign-up bound to the invited address, exactly the invited role."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from orgs import invitations
from orgs.models import Invitation, Membership, Role, Source, User
from tests.conftest import Personas
from tests.helpers import assert_problem, check_access
from tests.sso_fixtures import Mailbox
from tests.test_dashboard import signed_in
from tests.worker import run_worker

# The worker sends the mails (tests/worker.py): it reads committed task rows.
pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"https?://[^\s]+/invites/([A-Za-z0-9_-]+)/")


def invite(personas: Personas, mailbox: Mailbox, email: str, role: str = Role.MEMBER) -> str:
    """Invite through the API as the admin; returns the link's path from the received mail."""
    from tests.conftest import token_client

    response = token_client(personas.admin).post(
        f"/api/v1/orgs/{personas.org.pk}/invites", {"email": email, "role": role}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "pending" and body["role"] == role and "token" not in body
    run_worker()  # the request only queued the mail
    mail = mailbox.last_to(email)
    match = LINK.search(mail.get_content())
    assert match, mail.get_content()
    return f"/invites/{match.group(1)}/"


def sign_up(client: Client, link: str, email: str, username: str = "newbie") -> Any:
    page = client.get(link)
    assert page.status_code == 200 and email in page.content.decode()
    form = client.get(f"/accounts/signup/?next={link}")
    assert form.status_code == 200
    done = client.post(
        "/accounts/signup/",
        {
            "email": email,
            "username": username,
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
            "next": link,
        },
    )
    assert done.status_code == 302, done.content[:800]
    return done


def test_an_invitation_mail_leads_to_sign_up_and_exactly_the_invited_role(
    personas: Personas, mailbox: Mailbox
) -> None:
    link = invite(personas, mailbox, "newbie@example.org", Role.MEMBER)
    client = Client()
    # Signing up from the link is the acceptance (the page says so): no second step.
    done = sign_up(client, link, "newbie@example.org")
    assert done["Location"] == f"/orgs/{personas.org.pk}/secrets/"
    user = User.objects.get(username="newbie")
    assert Membership.objects.get(user=user).role == Role.MEMBER
    # Opening the link again takes the new member to the organization.
    again_mine = client.get(link)
    assert again_mine.status_code == 302
    assert again_mine["Location"] == f"/orgs/{personas.org.pk}/secrets/"
    assert list(Membership.objects.filter(user=user).values_list("organization", flat=True)) == [
        personas.org.pk
    ]
    # The address was verified by the link itself.
    assert EmailAddress.objects.get(user=user).verified
    # The link is used up.
    again = Client().get(link)
    assert again.status_code == 410 and "already been used" in again.content.decode()
    actions = set(
        AuditEvent.objects.filter(organization=personas.org).values_list("action", flat=True)
    )
    assert {"invitation.send", "invitation.accept", "member.add"} <= actions
    # The raw link token is nowhere in the database.
    token = link.split("/")[2]
    assert not Invitation.objects.filter(token_hash=token).exists()
    assert not AuditEvent.objects.filter(target_name__contains=token).exists()


def test_sign_up_with_an_invitation_is_bound_to_its_address(
    personas: Personas, mailbox: Mailbox
) -> None:
    link = invite(personas, mailbox, "invited@example.org")
    client = Client()
    client.get(link)
    response = client.post(
        "/accounts/signup/",
        {
            "email": "someone-else@example.org",
            "username": "sneaky",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )
    assert response.status_code == 200
    assert "invited@example.org" in str(response.context["form"].errors["email"])
    assert not User.objects.filter(username="sneaky").exists()


def test_without_an_invitation_sign_up_is_closed(personas: Personas) -> None:
    response = Client().get("/accounts/signup/")
    assert response.status_code == 200 and "closed" in response.content.decode().lower()
    Client().post(
        "/accounts/signup/",
        {
            "email": "x@example.org",
            "username": "walkin",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )
    assert not User.objects.filter(username="walkin").exists()


def test_the_operator_can_open_sign_up(personas: Personas, settings, mailbox: Mailbox) -> None:
    settings.ACCOUNT_SIGNUP_OPEN = True
    response = Client().post(
        "/accounts/signup/",
        {
            "email": "walkin@example.org",
            "username": "walkin",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="walkin")
    assert not Membership.objects.filter(user=user).exists()
    # A verification mail went out through the SMTP server, sent by the worker.
    run_worker()
    assert "confirm" in mailbox.last_to("walkin@example.org").get_content().lower()


@pytest.mark.parametrize("state", ["expired", "revoked"])
def test_expired_and_revoked_links_are_refused_plainly(
    personas: Personas, mailbox: Mailbox, state: str
) -> None:
    link = invite(personas, mailbox, "late@example.org")
    invitation = Invitation.objects.get(email="late@example.org")
    if state == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    else:
        invitations.invitation_revoke(
            actor=personas.admin, organization=personas.org, invitation_id=invitation.pk
        )
    client = signed_in(personas, "outsider")
    page = client.get(link)
    assert page.status_code == 410 and f"has {state}" in page.content.decode().replace(
        "was revoked", "has revoked"
    )
    assert client.post(link).status_code == 410
    assert not Membership.objects.filter(user=personas.outsider, organization=personas.org).exists()
    assert Client().get("/invites/not-a-real-token/").status_code == 404


def test_invitation_endpoints_follow_the_role_rules(personas: Personas, clients, mailbox) -> None:
    url = f"/api/v1/orgs/{personas.org.pk}/invites"
    check_access(clients, "get", url, allowed=("admin",), ok=200)
    emails = iter(f"p{n}@example.org" for n in range(10))
    check_access(
        clients,
        "post",
        url,
        allowed=("admin",),
        ok=201,
        make_body=lambda persona: {"email": next(emails), "role": "viewer"},
    )
    assert Invitation.objects.count() == 1
    invitation = Invitation.objects.get()
    check_access(clients, "delete", f"{url}/{invitation.pk}", allowed=("admin",), ok=204)
    invitation.refresh_from_db()
    assert invitation.state == "revoked"
    # Revoking again is a conflict; another org's invitation is not found.
    assert_problem(clients["admin"].delete(f"{url}/{invitation.pk}"), 409)
    assert_problem(clients["outsider"].delete(f"{url}/{invitation.pk}"), 404)
    other = f"/api/v1/orgs/{personas.other_org.pk}/invites/{invitation.pk}"
    assert_problem(clients["outsider"].delete(other), 404)


def test_bad_invitations_name_the_field_and_send_nothing(
    personas: Personas, clients, mailbox: Mailbox
) -> None:
    url = f"/api/v1/orgs/{personas.org.pk}/invites"
    admin = clients["admin"]
    assert_problem(
        admin.post(url, {"email": "nope", "role": "viewer"}, format="json"), 400, field="email"
    )
    assert_problem(
        admin.post(url, {"email": "a@example.org", "role": "boss"}, format="json"),
        400,
        field="role",
    )
    assert (
        admin.post(url, {"email": "a@example.org", "role": "viewer"}, format="json").status_code
        == 201
    )
    assert_problem(
        admin.post(url, {"email": "A@example.org", "role": "viewer"}, format="json"), 409
    )
    run_worker()
    assert Invitation.objects.count() == 1 and len(mailbox.messages) == 1


def test_the_invitations_page_by_persona(personas: Personas, mailbox: Mailbox) -> None:
    url = f"/orgs/{personas.org.pk}/invites/"
    assert signed_in(personas, "admin").get(url).status_code == 200
    assert signed_in(personas, "member").get(url).status_code == 403
    assert signed_in(personas, "viewer").get(url).status_code == 403
    assert signed_in(personas, "outsider").get(url).status_code == 404
    assert Client().get(url).status_code == 302
    admin = signed_in(personas, "admin")
    sent = admin.post(url, {"email": "page@example.org", "role": "viewer"})
    assert sent.status_code == 302
    page = admin.get(url).content.decode()
    assert "page@example.org" in page and "pending" in page
    bad = admin.post(url, {"email": "not-an-address", "role": "viewer"})
    assert bad.status_code == 400 and bad.context["form"].errors["email"]
    invitation = Invitation.objects.get()
    revoke = f"/orgs/{personas.org.pk}/invites/{invitation.pk}/revoke/"
    assert signed_in(personas, "member").post(revoke).status_code == 403
    assert signed_in(personas, "outsider").post(revoke).status_code == 404
    assert admin.post(revoke).status_code == 302
    assert Invitation.objects.get().state == "revoked"


def test_the_takeover_through_admin_made_accounts_no_longer_works(
    personas: Personas, clients
) -> None:
    """Once: org A's admin created the account dave (knowing its password) before dave
    signed up; org B later added dave and A's admin read B's secrets as dave. Now an admin
    cannot create an account at all, by API or dashboard, nor see anyone's password."""
    api = clients["admin"].post(
        f"/api/v1/orgs/{personas.org.pk}/members",
        {"username": "dave", "role": "viewer"},
        format="json",
    )
    assert_problem(api, 400, field="username")
    page = signed_in(personas, "admin").post(
        f"/orgs/{personas.org.pk}/members/add/", {"username": "dave", "role": "viewer"}
    )
    html = page.content.decode()
    assert "No user named" in html and "one-time" not in html.lower()
    assert 'id="one-time-password"' not in html
    assert not User.objects.filter(username="dave").exists()
    # So org B can only have a dave who made his own account (and accepted its invitation),
    # and A's admin has no password for it.
    dave = User.objects.create_user(username="dave", password="daves-own-passphrase")
    Membership.objects.create(
        user=dave, organization=personas.other_org, role="member", source=Source.INVITATION
    )
    thief = Client()
    assert not thief.login(username="dave", password="")
    response = thief.post("/accounts/login/", {"login": "dave", "password": "a-guess"})
    assert response.status_code == 200 and "_auth_user_id" not in thief.session
    assert Membership.objects.filter(user=dave).count() == 1


def test_an_invitation_to_the_longest_address_is_recorded(personas, clients):
    local, labels = "0", ["a" * 63, "b" * 63, "c" * 63, "d" * 60]
    email = f"{local}@{'.'.join(labels)}"
    assert len(email) == 254
    response = clients["admin"].post(
        f"/api/v1/orgs/{personas.org.pk}/invites", {"email": email, "role": "viewer"}, format="json"
    )
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(action="invitation.send")
    assert event.target_name == email[:253]
