"""Invitations on the dashboard (item 6 of the third dashboard pass): the link shown once to
the admin who sends it, resend (a new link, the old one refused), a duplicate offering a
resend, and joining in one step after signing up from the link."""

from __future__ import annotations

import re
import urllib.parse

import pytest
import requests
from django.test import Client

from audit.models import AuditEvent
from orgs import invitations
from orgs.invitation_links import LINK_COOKIE
from orgs.models import Invitation, Membership, Role, User
from tests.conftest import Personas, make_user
from tests.github_standin import GitHubStandIn
from tests.helpers import assert_problem
from tests.sso_fixtures import Mailbox
from tests.test_dashboard import signed_in
from tests.worker import run_worker

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"https?://[^\s<\"]+/invites/([A-Za-z0-9_-]+)/")


def send(admin: Client, personas: Personas, email: str, role: str = Role.VIEWER) -> str:
    """Invite ``email`` from the Invitations page; returns the link page's path."""
    response = admin.post(f"/orgs/{personas.org.pk}/invites/", {"email": email, "role": role})
    assert response.status_code == 302, response.content[:500]
    invitation = Invitation.objects.get(email=email)
    assert response["Location"] == f"/orgs/{personas.org.pk}/invites/{invitation.pk}/link/"
    return response["Location"]


def shown_link(page: str) -> str:
    match = LINK.search(page)
    assert match, page
    return f"/invites/{match.group(1)}/"


def test_the_link_is_shown_once_to_the_admin_and_a_reload_shows_nothing_new(
    personas: Personas, mailbox: Mailbox
) -> None:
    admin = signed_in(personas, "admin")
    page_path = send(admin, personas, "dora@example.org")
    cookie = admin.cookies[LINK_COOKIE]
    assert cookie["path"] == page_path and cookie["httponly"] and cookie["samesite"] == "Strict"
    first = admin.get(page_path)
    assert first.status_code == 200 and "no-store" in first["Cache-Control"]
    html = first.content.decode()
    link = shown_link(html)
    assert "Sent an invitation to dora@example.org" in html and 'id="invitation-link"' in html
    invitation = Invitation.objects.get(email="dora@example.org")
    assert invitations.invitation_hash(link.split("/")[2]) == invitation.token_hash
    # The token is in no session, and the mail carries the same link.
    assert link.split("/")[2] not in str(dict(admin.session))
    run_worker()
    assert link in mailbox.last_to("dora@example.org").get_content()
    # Reloading says it was shown and changes nothing: no new link, mail or event.
    events = AuditEvent.objects.count()
    again = admin.get(page_path)
    assert again.status_code == 200 and LINK.search(again.content.decode()) is None
    assert "already shown" in again.content.decode()
    assert AuditEvent.objects.count() == events and Invitation.objects.count() == 1
    invitation.refresh_from_db()
    assert invitations.invitation_hash(link.split("/")[2]) == invitation.token_hash
    run_worker()
    assert len(mailbox.messages) == 1


def test_the_link_cookie_opens_for_no_other_admin_or_invitation(personas: Personas) -> None:
    admin = signed_in(personas, "admin")
    page_path = send(admin, personas, "eve@example.org")
    sealed = admin.cookies[LINK_COOKIE].value
    second_admin = make_user("adam")
    Membership.objects.create(user=second_admin, organization=personas.org, role=Role.ADMIN)
    other = Client()
    other.force_login(second_admin)
    other.cookies[LINK_COOKIE] = sealed
    other.cookies[LINK_COOKIE]["path"] = page_path
    assert LINK.search(other.get(page_path).content.decode()) is None
    # A member may not open the page at all; another organization's admin finds nothing.
    assert signed_in(personas, "member").get(page_path).status_code == 403
    assert signed_in(personas, "outsider").get(page_path).status_code == 404


def test_resend_makes_a_new_link_and_the_old_one_stops_working(
    personas: Personas, mailbox: Mailbox
) -> None:
    admin = signed_in(personas, "admin")
    old_link = shown_link(admin.get(send(admin, personas, "finn@example.org")).content.decode())
    invitation = Invitation.objects.get(email="finn@example.org")
    resend = f"/orgs/{personas.org.pk}/invites/{invitation.pk}/resend/"
    assert signed_in(personas, "member").post(resend).status_code == 403
    assert signed_in(personas, "outsider").post(resend).status_code == 404
    response = admin.post(resend)
    assert response.status_code == 302
    new_page = admin.get(response["Location"]).content.decode()
    assert "the earlier link no longer works" in new_page
    new_link = shown_link(new_page)
    assert new_link != old_link
    assert Client().get(old_link).status_code == 404
    assert Client().get(new_link).status_code == 200
    assert AuditEvent.objects.filter(action="invitation.resend", target_id=invitation.pk).exists()
    run_worker()
    assert new_link in mailbox.last_to("finn@example.org").get_content()
    assert len(mailbox.messages) == 2
    # A revoked invitation is not resent.
    invitations.invitation_revoke(
        actor=personas.admin, organization=personas.org, invitation_id=invitation.pk
    )
    assert admin.post(resend).status_code == 409
    assert Client().get(new_link).status_code == 410


def test_a_duplicate_invitation_offers_a_resend_instead_of_revoking(
    personas: Personas, clients
) -> None:
    admin = signed_in(personas, "admin")
    send(admin, personas, "gus@example.org")
    invitation = Invitation.objects.get()
    again = admin.post(
        f"/orgs/{personas.org.pk}/invites/", {"email": "GUS@example.org", "role": "member"}
    )
    assert again.status_code == 400
    html = again.content.decode()
    assert "revoke it first" not in html and "resend it to get a new link" in html
    assert f'action="/orgs/{personas.org.pk}/invites/{invitation.pk}/resend/"' in html
    assert Invitation.objects.count() == 1
    # The API keeps its 409 problem, with the same advice.
    body = assert_problem(
        clients["admin"].post(
            f"/api/v1/orgs/{personas.org.pk}/invites",
            {"email": "gus@example.org", "role": "viewer"},
            format="json",
        ),
        409,
    )
    assert "resend" in body["detail"]


def test_inviting_an_account_by_username_shows_its_link_once_without_its_address(
    personas: Personas,
) -> None:
    nina = make_user("nina")
    nina.email = "nina@example.org"
    nina.save(update_fields=["email"])
    admin = signed_in(personas, "admin")
    url = f"/orgs/{personas.org.pk}/members/add/"
    response = admin.post(url, {"username": "nina", "role": "viewer"})
    assert response.status_code == 302
    page = admin.get(response["Location"]).content.decode()
    assert "Invited nina as viewer" in page and shown_link(page)
    # A second invitation of the same account offers the resend, and masks the address.
    again = admin.post(url, {"username": "nina", "role": "member"}).content.decode()
    assert "***@example.org already has a pending invitation" in again
    assert "nina@example.org" not in again and 'id="resend-duplicate"' in again


def test_signing_up_from_the_link_joins_in_one_step(personas: Personas) -> None:
    admin = signed_in(personas, "admin")
    link = shown_link(
        admin.get(send(admin, personas, "hana@example.org", "member")).content.decode()
    )
    visitor = Client()
    page = visitor.get(link).content.decode()
    assert "accepts the invitation" in page
    form = visitor.get(f"/accounts/signup/?next={link}").content.decode()
    assert "you join <strong>org-a</strong> as member at once" in form
    done = visitor.post(
        "/accounts/signup/",
        {
            "email": "hana@example.org",
            "username": "hana",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
            "next": link,
        },
    )
    assert done.status_code == 302 and done["Location"] == f"/orgs/{personas.org.pk}/secrets/"
    hana = User.objects.get(username="hana")
    assert Membership.objects.get(user=hana, organization=personas.org).role == Role.MEMBER
    assert Invitation.objects.get().state == "accepted"
    landing = visitor.get(done["Location"]).content.decode()
    assert "You joined org-a as member." in landing and "Accept and join" not in landing


def test_signing_up_from_a_link_meant_for_another_account_joins_nothing(
    personas: Personas, settings
) -> None:
    """An invitation sent to an existing account (by username) is that account's only: a
    new account made after opening its link does not join."""
    settings.ACCOUNT_SIGNUP_OPEN = True
    nina = make_user("nina")
    nina.email = "nina@example.org"
    nina.save(update_fields=["email"])
    admin = signed_in(personas, "admin")
    response = admin.post(
        f"/orgs/{personas.org.pk}/members/add/", {"username": "nina", "role": "viewer"}
    )
    link = shown_link(admin.get(response["Location"]).content.decode())
    visitor = Client()
    visitor.get(link)
    done = visitor.post(
        "/accounts/signup/",
        {
            "email": "not-nina@example.org",
            "username": "notnina",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )
    assert done.status_code == 302
    assert not Membership.objects.filter(user__username="notnina").exists()
    assert Invitation.objects.get().state == "pending"


def test_a_github_sign_up_from_the_link_joins_in_one_step(
    personas: Personas, github: GitHubStandIn
) -> None:
    """The GitHub button of the invitation page: a new account whose address GitHub
    verified as the invited one joins at once, and the link then leads into the org."""
    admin = signed_in(personas, "admin")
    link = shown_link(admin.get(send(admin, personas, "gina@example.org")).content.decode())
    visitor = Client()
    assert visitor.get(link).status_code == 200
    github.add("gina", email="gina@example.org", email_verified=True)
    github.signed_in = "gina"
    start = visitor.post(f"/accounts/github/login/?next={link}")
    assert start.status_code == 302, start.content[:300]
    session = requests.Session()
    session.trust_env = False
    approved = session.get(start["Location"], allow_redirects=False, timeout=10)
    back = urllib.parse.urlsplit(approved.headers["Location"])
    answer = visitor.get(f"{back.path}?{back.query}", follow=True)
    gina = User.objects.get(socialaccount__uid=str(github.users["gina"].id))
    assert Membership.objects.get(user=gina, organization=personas.org).role == Role.VIEWER
    assert answer.redirect_chain[-1][0] == f"/orgs/{personas.org.pk}/secrets/"
    assert "You joined org-a as viewer." in answer.content.decode()


def test_the_api_resends_an_invitation(personas: Personas, clients, mailbox: Mailbox) -> None:
    """The API twin of the page's resend: a new link by mail, the old one refused."""
    url = f"/api/v1/orgs/{personas.org.pk}/invites"
    created = clients["admin"].post(
        url, {"email": "jo@example.org", "role": "viewer"}, format="json"
    )
    assert created.status_code == 201
    run_worker()
    old = shown_link(mailbox.last_to("jo@example.org").get_content())
    resend = f"{url}/{created.json()['id']}/resend"
    assert_problem(clients["member"].post(resend), 403)
    assert_problem(clients["outsider"].post(resend), 404)
    answer = clients["admin"].post(resend)
    assert answer.status_code == 200 and answer.json()["state"] == "pending"
    assert "token" not in answer.json()
    run_worker()
    new = shown_link(mailbox.last_to("jo@example.org").get_content())
    assert new != old and Client().get(old).status_code == 404
    assert Client().get(new).status_code == 200
