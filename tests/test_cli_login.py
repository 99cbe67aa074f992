"""Signing in the command line by a code confirmed on the dashboard: the API's side, the
confirmation page, and the client end to end (login, whoami, logout) against a live
server."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import DeviceCode
from orgs.models import ApiToken, Role
from tests.cli_helpers import Cli, files_text, read_user_code
from tests.conftest import Personas

CODES = "/api/v1/device/codes"
TOKEN = "/api/v1/device/token"


def start(api: APIClient) -> dict[str, Any]:
    response = api.post(CODES, {"clientName": "laptop"}, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def page(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def confirm(client: Client, code: str, **choices: Any) -> Any:
    data = {"code": code, "organization": "", "max_role": "", "expires": "30", **choices}
    return client.post("/device/", {**data, "action": "approve"})


def test_a_code_waits_then_gives_a_limited_token_once(personas: Personas) -> None:
    api = APIClient()
    codes = start(api)
    assert codes["verificationUrl"].endswith("/device/")
    poll = {"deviceCode": codes["deviceCode"]}
    pending = api.post(TOKEN, poll, format="json")
    assert pending.status_code == 428, pending.content
    admin = page(personas.admin)
    shown = admin.get(f"/device/?code={codes['userCode']}")
    assert codes["userCode"] in shown.content.decode()
    lowercase = codes["userCode"].lower().replace("-", " ")
    answer = confirm(admin, lowercase, organization=personas.org.pk, max_role=Role.VIEWER)
    assert answer.status_code == 200 and b"is signed in" in answer.content
    got = api.post(TOKEN, poll, format="json")
    assert got.status_code == 200, got.content
    body = got.json()
    token = ApiToken.objects.get(pk=body["tokenId"])
    assert (token.user, token.organization, token.max_role) == (
        personas.admin, personas.org, Role.VIEWER
    )  # fmt: skip
    assert token.expires_at is not None and body["expiresAt"]
    assert body["token"].startswith(token.prefix)
    again = api.post(TOKEN, poll, format="json")
    assert again.status_code == 410
    row = DeviceCode.objects.get(user_code=codes["userCode"])
    assert body["token"] not in str(row.__dict__) and codes["deviceCode"] not in str(row.__dict__)


def test_a_denied_or_unknown_code_gives_nothing(personas: Personas) -> None:
    api = APIClient()
    codes = start(api)
    denied = page(personas.member).post("/device/", {"code": codes["userCode"], "action": "deny"})
    assert denied.status_code == 200 and b"refused" in denied.content
    answer = api.post(TOKEN, {"deviceCode": codes["deviceCode"]}, format="json")
    assert answer.status_code == 403
    assert api.post(TOKEN, {"deviceCode": "nope"}, format="json").status_code == 404
    wrong = confirm(page(personas.member), "BBBB-BBBB")
    assert wrong.status_code == 400 and b"No sign-in waits" in wrong.content


def test_an_expired_code_gives_nothing_and_is_forgotten(personas: Personas) -> None:
    api = APIClient()
    codes = start(api)
    row = DeviceCode.objects.get(user_code=codes["userCode"])
    row.expires_at = timezone.now() - timedelta(seconds=1)
    row.save(update_fields=["expires_at"])
    late = confirm(page(personas.admin), codes["userCode"])
    assert late.status_code == 400
    assert api.post(TOKEN, {"deviceCode": codes["deviceCode"]}, format="json").status_code == 410
    row.expires_at = timezone.now() - timedelta(days=2)
    row.save(update_fields=["expires_at"])
    start(api)
    assert not DeviceCode.objects.filter(pk=row.pk).exists()


def test_the_highest_role_is_never_above_the_confirming_persons(personas: Personas) -> None:
    codes = start(APIClient())
    viewer = page(personas.viewer)
    answer = confirm(viewer, codes["userCode"], organization=personas.org.pk, max_role="admin")
    assert answer.status_code == 400 and b"Your role there is viewer" in answer.content
    outside = confirm(viewer, codes["userCode"], organization=personas.other_org.pk)
    assert outside.status_code == 400
    assert DeviceCode.objects.get(user_code=codes["userCode"]).status == "pending"
    assert page(personas.viewer).get("/device/").status_code == 200
    assert Client().get("/device/").status_code == 302  # signing in first


def test_signing_out_revokes_the_calling_token_only(personas: Personas, clients: Any) -> None:
    assert clients["member"].delete(TOKEN).status_code == 204
    assert clients["member"].get("/api/v1/orgs").status_code == 401
    assert clients["admin"].get("/api/v1/orgs").status_code == 200
    session = APIClient()
    session.force_authenticate(personas.admin)
    assert session.delete(TOKEN).status_code == 400


@pytest.mark.django_db(transaction=True)
def test_the_client_signs_in_whoami_and_out(
    personas: Personas, live_server: Any, tmp_path: Path
) -> None:
    cli = Cli(live_server.url, tmp_path)
    process = cli.start("login", "--url", live_server.url + "/", PIPELINE_SECRETS_URL="")
    try:
        code = read_user_code(process)
        answer = confirm(
            page(personas.admin), code, organization=personas.org.pk, max_role="member"
        )
        assert answer.status_code == 200
        _out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    saved = tmp_path / "pipeline-secrets" / "credentials.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    token = ApiToken.objects.get(user=personas.admin, organization=personas.org)
    assert token.max_role == Role.MEMBER and token.prefix in files_text(tmp_path)
    who = cli.run("whoami")
    assert who.returncode == 0 and "org-a" in who.stdout and "member" in who.stdout
    assert "org-b" not in who.stdout
    out_ = cli.run("logout")
    assert out_.returncode == 0, out_.stderr
    token.refresh_from_db()
    assert token.revoked_at is not None and not saved.exists()
    assert cli.run("whoami").returncode == 4


@pytest.mark.django_db(transaction=True)
def test_ci_uses_the_token_from_the_environment(
    personas: Personas, live_server: Any, tmp_path: Path
) -> None:
    from orgs import services

    _, raw = services.token_create(user=personas.viewer, name="ci")
    cli = Cli(live_server.url, tmp_path, token=raw)
    who = cli.run("--json", "whoami")
    assert who.returncode == 0 and '"org-a"' in who.stdout
    bad = Cli(live_server.url, tmp_path, token="pst_not-a-token").run("whoami")
    assert bad.returncode == 4 and "login" in bad.stderr
    gone = Cli("http://127.0.0.1:9", tmp_path, token=raw).run("whoami")
    assert gone.returncode == 6 and "cannot reach" in gone.stderr
