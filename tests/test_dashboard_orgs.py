"""Organizations, members, API tokens and the error pages of the dashboard."""

from __future__ import annotations

import pytest
from django.test import Client

from orgs import services as org_services
from orgs.models import ApiToken, Invitation, Membership, Organization, Role, User
from tests.conftest import Personas, make_user
from tests.test_dashboard import scan, signed_in
from tests.worker import run_worker

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def members_url(personas: Personas, suffix: str = "") -> str:
    return f"/orgs/{personas.org.pk}/members/{suffix}"


def assert_every_input_labelled(html: str) -> None:
    page = scan(html)
    for name, attrs in page.inputs.items():
        if attrs.get("type") not in ("hidden", "submit"):
            assert attrs.get("id") in page.label_targets, name
    for select in ("<select", "<textarea"):
        for chunk in html.split(select)[1:]:
            element_id = chunk.split('id="', 1)[1].split('"', 1)[0]
            assert element_id in page.label_targets, element_id


# --------------------------------------------------------------------------- organizations


@pytest.fixture
def anyone_creates_orgs(settings) -> None:
    """These personas are no staff accounts: the operator lets anyone create organizations
    (tests/test_security_consent.py covers the default, staff only)."""
    settings.ORG_CREATION = "anyone"


@pytest.mark.usefixtures("anyone_creates_orgs")
def test_creating_an_org_makes_you_its_admin(personas: Personas) -> None:
    client = signed_in(personas, "viewer")
    response = client.post("/orgs/new/", {"name": "  vera-team "})
    org = Organization.objects.get(name="vera-team")
    assert response.status_code == 302 and response["Location"] == f"/orgs/{org.pk}/secrets/"
    assert Membership.objects.get(organization=org, user=personas.viewer).role == Role.ADMIN
    page = client.get(response["Location"]).content.decode()
    assert "Created vera-team" in page and "Create your first secret" in page


@pytest.mark.usefixtures("anyone_creates_orgs")
def test_org_names_are_checked(personas: Personas) -> None:
    client = signed_in(personas, "viewer")
    taken = client.post("/orgs/new/", {"name": "ORG-A"}).content.decode()
    assert "already exists" in taken
    blank = client.post("/orgs/new/", {"name": "   "}).content.decode()
    assert "This field is required." in blank or "may not be blank" in blank
    assert Organization.objects.count() == 2


@pytest.mark.usefixtures("anyone_creates_orgs")
def test_the_switcher_lists_your_orgs_and_keeps_the_section(personas: Personas) -> None:
    org_services.organization_create(actor=personas.viewer, name="zeta")
    html = signed_in(personas, "viewer").get(members_url(personas)).content.decode()
    zeta = Organization.objects.get(name="zeta")
    assert 'class="switcher"' in html and f'href="/orgs/{zeta.pk}/members/"' in html
    assert "org-b" not in html


@pytest.mark.usefixtures("anyone_creates_orgs")
def test_a_new_user_is_told_what_to_do(db: None) -> None:
    client = Client()
    client.force_login(make_user("newbie"))
    html = client.get("/").content.decode()
    assert "not in an organization yet" in html and "Create an organization" in html
    assert "newbie" in html and "/api/v1/docs" in html


def test_org_root_goes_to_its_secrets(personas: Personas) -> None:
    response = signed_in(personas, "viewer").get(f"/orgs/{personas.org.pk}/")
    assert response.status_code == 302 and response["Location"].endswith("/secrets/")


# --------------------------------------------------------------------------- members


def test_members_page_lists_members_and_the_role_rules(personas: Personas) -> None:
    html = signed_in(personas, "viewer").get(members_url(personas)).content.decode()
    for username in ("alice", "mike", "vera"):
        assert username in html
    assert "oscar" not in html
    assert "Also manages members and clusters." in html
    assert "<select" not in html and "Add a member" not in html
    assert "Only admins add members" in html
    assert signed_in(personas, "outsider").get(members_url(personas)).status_code == 404


@pytest.mark.django_db(transaction=True)  # the worker sends the mail (tests/worker.py)
def test_admins_invite_members_by_username(personas: Personas, mailbox) -> None:
    nina = make_user("nina")
    nina.email = "nina@example.org"
    nina.save(update_fields=["email"])
    client = signed_in(personas, "admin")
    response = client.post(
        members_url(personas, "add/"), {"username": "nina", "role": "member"}, headers=HTMX
    )
    invitation = Invitation.objects.get(invitee=nina)
    # The page that shows the new link once follows (a full page load under htmx).
    link_page = f"/orgs/{personas.org.pk}/invites/{invitation.pk}/link/"
    assert response["HX-Redirect"] == link_page
    html = client.get(link_page).content.decode()
    assert "Invited nina as member" in html and 'id="invitation-link"' in html
    assert not Membership.objects.filter(user=nina).exists()  # only accepting makes it
    assert (invitation.role, invitation.email) == (Role.MEMBER, "nina@example.org")
    run_worker()  # the request only queued the mail
    assert "/invites/" in mailbox.last_to("nina@example.org").get_content()
    invites = client.get(f"/orgs/{personas.org.pk}/invites/").content.decode()
    assert "nina" in invites and "nina@example.org" not in invites  # the address stays hers
    pending = client.post(
        members_url(personas, "add/"), {"username": "nina", "role": "viewer"}, headers=HTMX
    )
    assert "pending invitation" in pending.content.decode()
    make_user("nomail")
    no_address = client.post(
        members_url(personas, "add/"), {"username": "nomail", "role": "viewer"}, headers=HTMX
    )
    assert "no e-mail address" in no_address.content.decode()
    blank = client.post(
        members_url(personas, "add/"), {"username": "  ", "role": "viewer"}, headers=HTMX
    )
    assert "This field is required" in blank.content.decode()
    again = client.post(
        members_url(personas, "add/"), {"username": "vera", "role": "viewer"}, headers=HTMX
    )
    assert "already a member" in again.content.decode()


def test_admins_change_roles_but_never_drop_the_last_admin(personas: Personas) -> None:
    client = signed_in(personas, "admin")
    url = members_url(personas, f"{personas.viewer.pk}/role/")
    assert (
        "vera is now member." in client.post(url, {"role": "member"}, headers=HTMX).content.decode()
    )
    self_url = members_url(personas, f"{personas.admin.pk}/role/")
    refused = client.post(self_url, {"role": "viewer"}, headers=HTMX).content.decode()
    assert "at least one admin" in refused
    plain = client.post(url, {"role": "viewer"})
    assert plain.status_code == 302 and plain["Location"] == members_url(personas)
    assert "vera is now viewer." in client.get(members_url(personas)).content.decode()


def test_admins_remove_members(personas: Personas) -> None:
    client = signed_in(personas, "admin")
    html = client.post(members_url(personas, f"{personas.member.pk}/remove/"), headers=HTMX).content
    assert b"Removed mike" in html
    assert not Membership.objects.filter(user=personas.member, organization=personas.org).exists()
    refused = client.post(members_url(personas, f"{personas.admin.pk}/remove/"), headers=HTMX)
    assert b"at least one admin" in refused.content


def test_only_admins_manage_members(personas: Personas) -> None:
    client = signed_in(personas, "member")
    assert client.post(members_url(personas, "add/"), {"username": "vera"}).status_code == 403
    url = members_url(personas, f"{personas.viewer.pk}/role/")
    assert client.post(url, {"role": "admin"}).status_code == 403
    other = signed_in(personas, "outsider").post(url, {"role": "admin"})
    assert other.status_code == 404


# --------------------------------------------------------------------------- tokens


def test_a_new_token_is_shown_once(personas: Personas) -> None:
    client = signed_in(personas, "viewer")
    response = client.post("/account/tokens/", {"name": "ci-deploy", "expires": "30"}, headers=HTMX)
    html = response.content.decode()
    token = ApiToken.objects.get(name="ci-deploy")
    raw = html.split('aria-label="The new token">', 1)[1].split("<", 1)[0]
    assert raw.startswith(token.prefix) and "no-store" in response["Cache-Control"]
    assert token.expires_at is not None
    later = client.get("/account/tokens/").content.decode()
    assert raw not in later and "ci-deploy" in later and "never" in later
    used = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/orgs")
    assert used.status_code == 200
    assert "ago" in client.get("/account/tokens/").content.decode()


def test_tokens_are_revoked_and_private(personas: Personas) -> None:
    token, raw = org_services.token_create(user=personas.viewer, name="old")
    client = signed_in(personas, "viewer")
    html = client.post(f"/account/tokens/{token.pk}/revoke/", headers=HTMX).content.decode()
    assert "Revoked old" in html and "revoked" in html
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/orgs").status_code == 401
    theirs, _ = org_services.token_create(user=personas.admin, name="alices")
    assert client.post(f"/account/tokens/{theirs.pk}/revoke/").status_code == 404
    assert "alices" not in client.get("/account/tokens/").content.decode()
    blank = client.post("/account/tokens/", {"name": " "}).content.decode()
    assert "This field is required." in blank or "may not be blank" in blank


# --------------------------------------------------------------------------- pages


@pytest.mark.usefixtures("anyone_creates_orgs")
def test_every_input_has_a_label(personas: Personas) -> None:
    client = signed_in(personas, "admin")
    pages = ["/", "/orgs/new/", members_url(personas), "/account/tokens/", "/account/security/"]
    pages += [f"/orgs/{personas.org.pk}/secrets/", f"/orgs/{personas.org.pk}/secrets/new/"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_every_input_labelled(response.content.decode())


def test_sign_out_is_a_post_with_csrf(personas: Personas) -> None:
    client = signed_in(personas, "viewer")
    html = client.get("/").content.decode()
    assert 'action="/accounts/logout/"' in html
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and client.get("/").status_code == 302


def test_adding_an_unknown_username_creates_no_account(personas: Personas) -> None:
    """Admins add existing accounts only; nobody's account or password comes from an admin."""
    client = signed_in(personas, "admin")
    response = client.post(
        members_url(personas, "add/"), {"username": "newbie", "role": "member"}, headers=HTMX
    )
    html = response.content.decode()
    assert "No user named" in html and "one-time" not in html.lower()
    assert 'type="password"' not in html
    assert not User.objects.filter(username="newbie").exists()
    assert not Membership.objects.filter(user__username="newbie").exists()


def test_password_change_keeps_this_session(personas: Personas) -> None:
    client = signed_in(personas, "viewer")
    changed = client.post(
        "/accounts/password/",
        {
            "oldpassword": "correct horse battery",
            "password1": "a-fresh-long-passphrase",
            "password2": "a-fresh-long-passphrase",
        },
    )
    assert changed.status_code == 302
    assert client.get("/").status_code == 200
    assert Client().login(username="vera", password="a-fresh-long-passphrase")
    assert not Client().login(username="vera", password="correct horse battery")


def test_password_change_needs_the_old_password(personas: Personas) -> None:
    client = signed_in(personas, "viewer")
    page = client.get("/accounts/password/")
    assert page.status_code == 200 and 'for="id_oldpassword"' in page.content.decode()
    wrong = client.post(
        "/accounts/password/",
        {
            "oldpassword": "nope",
            "password1": "x-long-pass-1",
            "password2": "x-long-pass-1",
        },
    )
    assert wrong.status_code == 200 and wrong.context["form"].errors["oldpassword"]
    assert Client().get("/accounts/password/").status_code == 302
