"""A fresh installation leads the first visitor to create the first admin account."""

from __future__ import annotations

import pytest

from orgs.models import Membership, Role, User

pytestmark = pytest.mark.django_db

GOOD = {
    "username": "founder",
    "password1": "a-long-unusual-passphrase",
    "password2": "a-long-unusual-passphrase",
    "organization": "acme",
}


def test_sign_in_page_sends_a_fresh_installation_to_setup(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 302 and response["Location"] == "/setup/"
    page = client.get("/setup/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html and 'for="id_username"' in html


def test_setup_creates_the_admin_and_the_org_and_signs_in(client):
    response = client.post("/setup/", GOOD)
    assert response.status_code == 302
    user = User.objects.get(username="founder")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.ADMIN and membership.organization.name == "acme"
    assert response["Location"] == f"/orgs/{membership.organization_id}/secrets/"
    assert client.get(response["Location"]).status_code == 200
    assert user.check_password("a-long-unusual-passphrase")


def test_setup_closes_once_an_account_exists(client):
    User.objects.create_user(username="someone", password="x-long-password-1")
    assert client.get("/setup/")["Location"] == "/accounts/login/"
    response = client.post("/setup/", GOOD)
    assert response["Location"] == "/accounts/login/"
    assert not User.objects.filter(username="founder").exists()
    assert client.get("/accounts/login/").status_code == 200


@pytest.mark.parametrize(
    "change, field",
    [
        ({"password2": "different-passphrase-here"}, "password2"),
        ({"password1": "short", "password2": "short"}, "password1"),
        ({"password1": "password123", "password2": "password123"}, "password1"),
        ({"organization": ""}, "organization"),
        ({"username": ""}, "username"),
    ],
)
def test_bad_setup_input_is_shown_and_creates_nothing(client, change, field):
    response = client.post("/setup/", {**GOOD, **change})
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not User.objects.exists()
