"""Wording and operations around members and sign-in (items 8, 10 and 11 of the third
dashboard pass): what the pages say is what the product does."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.test import Client

from orgs import reporting
from orgs import services as org_services
from orgs.models import Membership, User
from tests.conftest import Personas
from tests.test_dashboard import signed_in
from tools.devstack.pytest_plugin import free_port, gunicorn_command, terminate, wait_for

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.django_db
def test_sign_in_events_say_how_and_rollbacks_from_which_version(personas: Personas) -> None:
    """Item 10: a sign-in event reads "through: LDAP", never "from version: ldap"."""
    reporting.audit(
        actor="mike",
        action="signin",
        organization=personas.org,
        target_type="user",
        target_id=personas.member.pk,
        target_name="mike",
        source="ldap",
    )
    reporting.audit(
        actor="alice",
        action="secret.rollback",
        organization=personas.org,
        target_type="secret",
        target_id="ab" * 32,
        target_name="db-pass",
        source=3,
    )
    page = signed_in(personas, "admin").get(f"/orgs/{personas.org.pk}/activity/")
    html = page.content.decode()
    assert "through: LDAP" in html and "from version: ldap" not in html
    assert "from version: 3" in html


@pytest.mark.django_db
def test_the_password_page_promises_a_reset_link_only_to_a_verified_address(
    personas: Personas,
) -> None:
    """Item 10: the first admin has no verified address; the page says what that means."""
    client = signed_in(personas, "admin")
    html = client.get("/accounts/password/").content.decode()
    assert "A reset link goes to" not in html
    assert "no verified e-mail address" in html and 'href="/accounts/email/"' in html
    EmailAddress.objects.create(
        user=personas.admin, email="alice@example.org", verified=True, primary=True
    )
    html = client.get("/accounts/password/").content.decode()
    assert "A reset link goes to your verified address, alice@example.org." in html


@pytest.mark.django_db
def test_the_set_password_page_is_the_products(personas: Personas) -> None:
    """Item 8: allauth's set-password page in the product's layout."""
    user = User.objects.create(username="nopass")
    user.set_unusable_password()
    user.save()
    client = Client()
    client.force_login(user)
    response = client.get("/accounts/password/set/")
    assert response.status_code == 200
    assert "account/password_set.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert 'id="password-set"' in html and 'class="form"' in html and "Set password" in html


@pytest.mark.django_db
def test_the_github_link_shows_only_when_github_sign_in_is_configured(
    personas: Personas, settings
) -> None:
    """Item 8: no GitHub card where GitHub is not configured."""
    client = signed_in(personas, "admin")
    url = f"/orgs/{personas.org.pk}/settings/"
    assert 'id="github-h"' in client.get(url).content.decode()
    settings.GITHUB_CLIENT_ID = ""
    html = client.get(url).content.decode()
    assert 'id="github-h"' not in html and 'id="github-not-configured"' in html
    assert 'id="groups-h"' in html


@pytest.mark.django_db
def test_re_mapping_a_group_states_the_role_change(personas: Personas, settings) -> None:
    """Item 10: re-mapping a group does not change its role silently."""
    settings.LDAP_TRUSTED_GROUPS = ["*"]
    client = signed_in(personas, "admin")
    url = f"/orgs/{personas.org.pk}/settings/groups/"
    first = client.post(url, {"group": "ops", "role": "viewer"}, follow=True).content.decode()
    assert "Mapped ops to viewer" in first
    again = client.post(url, {"group": "ops", "role": "admin"}, follow=True).content.decode()
    assert "ops now maps to admin instead of viewer" in again
    assert "become admin at their next LDAP sign-in" in again
    same = client.post(url, {"group": "ops", "role": "admin"}, follow=True).content.decode()
    assert "already mapped to admin; nothing changed" in same


def _serve(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    port = free_port()
    base = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "DATA_DIR": str(tmp_path / "data"),
        "DJANGO_SECRET_KEY": "control-socket-test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    process = subprocess.Popen(
        gunicorn_command(port),
        cwd=REPO,
        env={**base, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for(lambda: _listening(port), 30, f"gunicorn on {port}")
    return process


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_gunicorn_keeps_no_machine_wide_control_socket(tmp_path: Path) -> None:
    """Item 11: each instance has its own control socket (make run: under DATA_DIR), or none;
    never the per-user ~/.gunicorn/gunicorn.ctl every instance would share."""
    own = tmp_path / "data" / "gunicorn.ctl"
    process = _serve(tmp_path, {"GUNICORN_CONTROL_SOCKET": str(own)})
    try:
        wait_for(own.is_socket, 10, "the control socket")
        assert not (tmp_path / "home" / ".gunicorn").exists()
    finally:
        terminate(process)
    process = _serve(tmp_path, {})
    try:
        time.sleep(2)  # the arbiter would have made it by now (it does at start-up)
        assert not (tmp_path / "home" / ".gunicorn").exists()
    finally:
        terminate(process)


@pytest.mark.django_db
def test_removing_a_member_is_confirmed_on_a_page_that_says_what_happens(
    personas: Personas,
) -> None:
    """Removing a member is not one click: a page (no script needed) states the role lost,
    the API tokens that stop reaching the organization, and how to come back."""
    org_services.token_create(user=personas.member, name="ci", organization_id=personas.org.pk)
    org_services.token_create(user=personas.member, name="all")
    Membership.objects.create(user=personas.member, organization=personas.other_org, role="viewer")
    org_services.token_create(
        user=personas.member, name="elsewhere", organization_id=personas.other_org.pk
    )
    admin = signed_in(personas, "admin")
    url = f"/orgs/{personas.org.pk}/members/{personas.member.pk}/remove/"
    members = admin.get(f"/orgs/{personas.org.pk}/members/").content.decode()
    assert f'href="{url}"' in members and "hx-confirm" not in members
    page = admin.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Remove mike from org-a?" in html
    assert "mike loses the <strong>member</strong> role" in html
    # The token limited to org-b keeps working and is not counted.
    assert "2 active API tokens of theirs that reach" in " ".join(html.split())
    assert Membership.objects.filter(user=personas.member, organization=personas.org).exists()
    assert signed_in(personas, "member").get(url).status_code == 403
    assert signed_in(personas, "outsider").get(url).status_code == 404
    done = admin.post(url)
    assert done.status_code == 302 and done["Location"] == f"/orgs/{personas.org.pk}/members/"
    assert not Membership.objects.filter(user=personas.member, organization=personas.org).exists()


@pytest.mark.slow
def test_make_run_gives_gunicorn_its_own_control_socket_and_an_honest_banner(
    tmp_path: Path,
) -> None:
    """Item 11 and item 10 through ``make run`` itself (``tools.devstack.run``): the control
    socket is DATA_DIR/gunicorn.ctl, nothing under the home directory, and the banner of a
    (re)start says to sign in, the setup code only while there is no account."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "DATA_DIR": str(tmp_path / "data"),
        "PORT": str(free_port()),
        "VAULT_PORT": str(free_port()),
        "GUNICORN_WORKERS": "1",
    }
    output = tmp_path / "run.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "tools.devstack.run"],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: "is running at" in output.read_text(), 240, "make run's banner")
        socket_path = tmp_path / "data" / "gunicorn.ctl"
        wait_for(socket_path.is_socket, 30, "the control socket")
        assert not (tmp_path / "home" / ".gunicorn").exists()
        banner = " ".join(output.read_text().split())
        assert "and sign in (while there is no account yet" in banner
        assert "the first visit creates the first admin" not in banner
    finally:
        terminate(process)
