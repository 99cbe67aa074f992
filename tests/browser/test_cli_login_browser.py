"""``pipeline-secrets login`` through the dashboard in Chromium: the client shows a code,
the signed-in person opens the link, chooses the token's limits and confirms; the client
gets a token held to them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from orgs.models import ApiToken, Role
from tests.browser.conftest import Dashboard
from tests.cli_helpers import Cli, read_user_code
from tests.conftest import Personas

pytestmark = pytest.mark.django_db(transaction=True)


def test_login_confirmed_on_the_dashboard(
    dash: Dashboard, personas: Personas, live_server: Any, tmp_path: Path
) -> None:
    cli = Cli(live_server.url, tmp_path)
    process = cli.start("login")
    try:
        code = read_user_code(process)
        dash.sign_in_as(personas.admin)
        page = dash.goto("/device/")
        expect(page.locator("h1")).to_have_text("Sign in a command line")
        page.fill("#id_code", code.lower())
        page.select_option("#id_organization", str(personas.org.pk))
        page.select_option("#id_max_role", "viewer")
        page.select_option("#id_expires", "7")
        dash.shoot("cli-login-confirm")
        page.get_by_role("button", name="Confirm sign-in").click()
        expect(page.locator(".flash.success")).to_contain_text("is signed in")
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Signed in" in out and "highest role viewer" in out
    token = ApiToken.objects.get(user=personas.admin, revoked_at__isnull=True)
    assert (token.organization, token.max_role) == (personas.org, Role.VIEWER)
    assert token.expires_at is not None
    who = cli.run("whoami")
    assert who.returncode == 0 and "org-a" in who.stdout and "viewer" in who.stdout
