"""A fresh installation leads the first visitor to create the first admin account, which
needs the one-time setup code ``make run`` prints."""

from __future__ import annotations

import stat
import threading

import pytest
from django.db import connection

from accounts import first_run
from accounts import services as account_services
from orgs.models import Membership, Role, User
from pipeline_secrets.core.errors import ConflictError

pytestmark = pytest.mark.django_db

GOOD = {
    "username": "founder",
    "password1": "a-long-unusual-passphrase",
    "password2": "a-long-unusual-passphrase",
    "organization": "acme",
}


@pytest.fixture(autouse=True)
def code_file(settings, tmp_path):
    settings.SETUP_CODE_FILE = tmp_path / "data" / "setup-code"
    return settings.SETUP_CODE_FILE


@pytest.fixture
def good(code_file):
    return {**GOOD, "setup_code": first_run.new_setup_code()}


def test_sign_in_page_sends_a_fresh_installation_to_setup(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 302 and response["Location"] == "/setup/"
    page = client.get("/setup/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html and 'for="id_username"' in html
    assert 'for="id_setup_code"' in html


def test_the_setup_code_is_owner_only_and_printed_by_the_command(code_file, capsys):
    from django.core.management import call_command

    call_command("setup_code")
    printed = capsys.readouterr().out
    code = code_file.read_text().strip()
    assert len(code) >= 16 and code in printed
    assert stat.S_IMODE(code_file.stat().st_mode) == 0o600


def test_setup_creates_the_admin_and_the_org_and_signs_in(client, good, code_file):
    response = client.post("/setup/", good)
    assert response.status_code == 302
    user = User.objects.get(username="founder")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.ADMIN and membership.organization.name == "acme"
    assert response["Location"] == f"/orgs/{membership.organization_id}/secrets/"
    assert client.get(response["Location"]).status_code == 200
    assert user.check_password("a-long-unusual-passphrase")
    assert not code_file.exists()  # used up


@pytest.mark.parametrize("code", ["", "wrong-code", " "])
def test_setup_without_the_code_creates_nothing(client, good, code):
    response = client.post("/setup/", {**good, "setup_code": code})
    assert response.status_code == 400
    assert response.context["form"].errors["setup_code"]
    assert not User.objects.exists()


def test_setup_closes_once_an_account_exists(client, good):
    User.objects.create_user(username="someone", password="x-long-password-1")
    assert client.get("/setup/")["Location"] == "/accounts/login/"
    response = client.post("/setup/", good)
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
def test_bad_setup_input_is_shown_and_creates_nothing(client, good, change, field):
    response = client.post("/setup/", {**good, **change})
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not User.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_setups_make_one_admin():
    """Both submissions start together, each in its own connection; one wins."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(name: str) -> None:
        barrier.wait()
        try:
            account_services.first_admin_create(
                username=name, password="a-long-unusual-passphrase", organization_name=name
            )
            outcomes.append("created")
        except ConflictError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(n,)) for n in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["created", "refused"]
    assert User.objects.count() == 1 and Membership.objects.count() == 1


def test_the_setup_claim_alone_refuses_a_second_setup():
    """Even in the instant before the first admin's row is visible, the claim refuses."""
    from accounts.models import SetupClaim

    SetupClaim.objects.create(pk=1)
    with pytest.raises(ConflictError):
        account_services.first_admin_create(
            username="late", password="a-long-unusual-passphrase", organization_name="late"
        )
    assert not User.objects.exists()
