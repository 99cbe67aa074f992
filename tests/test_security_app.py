"""Security promises of the application itself: whole-string validation, cache and security
headers, private local files, audited reads, cluster credentials for admins only, scrubbed
logs, dashboard error mapping and the renewal of the app's Vault token."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from audit.models import AuditEvent
from clusters.models import Cluster
from secrets_app import vault as vault_client
from secrets_app.models import SecretIndex
from secrets_app.vault import auth as vault_auth
from tests.conftest import Personas, VaultServer
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
CONTROL = ["\n", "\r", "\t", "\x00", "\x1b", "\u2028"]
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: kube-credential-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def secrets_url(personas: Personas) -> str:
    return f"/api/v1/orgs/{personas.org.pk}/secrets"


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def create(client: Any, personas: Personas, body: dict[str, Any]) -> Any:
    return client.post(secrets_url(personas) + "?validate=false", body, format="json")


# --------------------------------------------------------------------------- whole strings


@pytest.mark.parametrize("char", CONTROL)
def test_names_tags_and_keys_with_control_characters_are_refused(
    vault: VaultServer, personas: Personas, clients: dict[str, Any], char: str
) -> None:
    member = clients["member"]
    good = {"name": "db", "type": "generic", "values": {"k": "v"}, "tags": ["repo:x"]}
    for field, body in (
        ("name", {**good, "name": f"db{char}"}),
        ("name", {**good, "name": f"{char}db"}),
        ("tags", {**good, "tags": [f"repo:x{char}"]}),
        ("values", {**good, "values": {f"k{char}": "v"}}),
    ):
        assert_problem(create(member, personas, body), 400, field=field)
    assert SecretIndex.objects.count() == 0


def test_a_trailing_newline_is_refused_in_tags_added_later(
    vault: VaultServer, personas: Personas, clients: dict[str, Any]
) -> None:
    member = clients["member"]
    body = {"name": "db", "type": "generic", "values": {"k": "v"}}
    created = create(member, personas, body).json()
    for encoded in ("%0A", "%0D", "%09", "%00", "%1B"):
        response = member.put(f"{secrets_url(personas)}/{created['id']}/tags/repo:x{encoded}")
        # A newline ends the URL pattern's match (404); other characters fail the tag check.
        assert response.status_code in (400, 404), (encoded, response.status_code)
        assert_problem(response, response.status_code)
    assert SecretIndex.objects.get().tags == []


@pytest.mark.parametrize("char", CONTROL)
def test_namespaces_with_control_characters_are_refused(
    personas: Personas, clients: dict[str, Any], char: str
) -> None:
    cluster = Cluster.objects.create(
        organization=personas.org, name="dev", kubeconfig_secret_id="0" * 64
    )
    url = f"/api/v1/orgs/{personas.org.pk}/clusters/{cluster.pk}/secrets"
    namespace = f"build{char}"
    response = clients["member"].post(
        url, {"namespace": namespace, "query": {"type": "generic"}}, format="json"
    )
    assert_problem(response, 400, field="namespace")
    response = clients["member"].delete(f"{url}/db", {"namespace": namespace})
    assert response.status_code == 400


def test_organization_names_with_control_characters_are_refused(
    personas: Personas, clients: dict[str, Any], settings
) -> None:
    settings.ORG_CREATION = "anyone"  # alice is no staff account
    response = clients["admin"].post("/api/v1/orgs", {"name": "acme\n"}, format="json")
    # Surrounding whitespace is trimmed; control characters inside are refused.
    assert response.status_code == 201
    response = clients["admin"].post("/api/v1/orgs", {"name": "ac\x1bme"}, format="json")
    assert_problem(response, 400, field="name")


# --------------------------------------------------------------------------- headers


def test_every_api_response_is_marked_not_to_be_stored(
    vault: VaultServer, personas: Personas, clients: dict[str, Any]
) -> None:
    member = clients["member"]
    created = create(
        member, personas, {"name": "db", "type": "password", "values": {"username": "root"}}
    )
    responses = [
        created,
        member.get(f"{secrets_url(personas)}/{created.json()['id']}"),
        member.get(secrets_url(personas) + "?values=true"),
        member.get(f"{secrets_url(personas)}/{'f' * 64}"),
        clients["anonymous"].get(secrets_url(personas)),
        member.get("/api/v1/secret-types"),
    ]
    for response in responses:
        assert "no-store" in response["Cache-Control"], response.status_code
        assert response["Pragma"] == "no-cache"
        assert len(response["X-Request-ID"]) >= 8


def test_a_well_formed_request_id_is_kept_and_a_bad_one_replaced(
    personas: Personas, clients: dict[str, Any]
) -> None:
    response = clients["admin"].get("/api/v1/orgs", HTTP_X_REQUEST_ID="trace-1234abcd")
    assert response["X-Request-ID"] == "trace-1234abcd"
    response = clients["admin"].get("/api/v1/orgs", HTTP_X_REQUEST_ID="bad id\nx")
    assert response["X-Request-ID"] != "bad id\nx" and len(response["X-Request-ID"]) == 32


def test_pages_carry_a_content_security_policy_without_inline_script(
    personas: Personas,
) -> None:
    for client, url in (
        (Client(), "/accounts/login/"),
        (signed_in(personas.admin), f"/orgs/{personas.org.pk}/secrets/"),
        (signed_in(personas.admin), f"/orgs/{personas.org.pk}/secrets/new/"),
        (signed_in(personas.admin), "/api/v1/docs"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        assert "unsafe" not in policy
        html = response.content.decode()
        for tag in html.split("<script")[1:]:
            assert tag.split(">", 1)[0].find("src=") >= 0, (url, tag[:80])
        assert " style=" not in html and " onclick=" not in html and "<style" not in html


def _settings_under(env: dict[str, str]) -> dict[str, Any]:
    code = (
        "import json, django, os;"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'pipeline_secrets.settings';"
        "django.setup();"
        "from django.conf import settings as s;"
        "print(json.dumps({k: getattr(s, k, None) for k in ("
        "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', "
        "'SECURE_PROXY_SSL_HEADER')}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SECURE")}
    output = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SECRET_KEY": "x", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(json.loads(output))


def test_behind_tls_cookies_are_secure_and_hsts_is_sent(personas: Personas) -> None:
    plain = _settings_under({})
    assert plain["SESSION_COOKIE_SECURE"] is False and plain["SECURE_HSTS_SECONDS"] == 0
    proxied = _settings_under({"SECURE_PROXY_SSL_HEADER": "true"})
    assert proxied["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert proxied["SESSION_COOKIE_SECURE"] and proxied["CSRF_COOKIE_SECURE"]
    assert proxied["SECURE_HSTS_SECONDS"] >= 31536000
    direct = _settings_under({"SECURE_COOKIES": "true"})
    assert direct["SESSION_COOKIE_SECURE"] and direct["SECURE_HSTS_SECONDS"] >= 31536000

    with override_settings(
        SECURE_PROXY_SSL_HEADER=tuple(proxied["SECURE_PROXY_SSL_HEADER"]),
        SECURE_HSTS_SECONDS=proxied["SECURE_HSTS_SECONDS"],
        SESSION_COOKIE_SECURE=True,
    ):
        client = signed_in(personas.admin)
        response = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
        assert response["Strict-Transport-Security"].startswith("max-age=31536000")
        response = client.get("/accounts/login/")
        assert "Strict-Transport-Security" not in response


# --------------------------------------------------------------------------- local files


def test_local_state_is_private_to_the_owner(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    old = data / "db.sqlite3-wal"
    old.write_text("")
    old.chmod(0o644)
    env = {**os.environ, "DATA_DIR": str(data), "DATABASE_URL": ""}
    env.pop("DJANGO_SECRET_KEY", None)
    env.pop("DATABASE_URL")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        env={**env, "PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
        check=True,
        umask=0o022,
    )
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = sorted(p.name for p in data.iterdir())
    assert "db.sqlite3" in files and "secret_key" in files, files
    for item in data.iterdir():
        assert stat.S_IMODE(item.stat().st_mode) & 0o077 == 0, item.name


# --------------------------------------------------------------------------- audited reads


def _reads(row_id: str) -> list[dict[str, Any]]:
    events = AuditEvent.objects.filter(action="secret.read", target_id=row_id)
    return [e.detail for e in events]


def test_validate_audits_its_read_and_the_edit_form_records_none(
    vault: VaultServer, personas: Personas, clients: dict[str, Any]
) -> None:
    created = create(
        clients["member"], personas, {"name": "db", "type": "generic", "values": {"k": "v"}}
    ).json()
    url = f"/orgs/{personas.org.pk}/secrets/{created['id']}/edit/"
    assert signed_in(personas.member).get(url).status_code == 200
    # The form shows no secret value: opening it is not a read (a reveal on it is).
    assert _reads(created["id"]) == []
    response = clients["member"].get(f"{secrets_url(personas)}/{created['id']}/validate")
    assert response.status_code == 200
    assert [str(d.get("purpose")) for d in _reads(created["id"])] == ["validate"]
    assert all("v" not in json.dumps(d).split('"') for d in _reads(created["id"]))


# --------------------------------------------------------------------------- cluster credentials


@pytest.fixture
def kubeconfig_secret(vault: VaultServer, personas: Personas, clients: dict[str, Any]) -> str:
    response = create(
        clients["admin"],
        personas,
        {"name": "prod-kubeconfig", "type": "kubernetes", "values": {"K8Sconfig": KUBECONFIG}},
    )
    assert response.status_code == 201, response.content
    return str(response.json()["id"])


def test_members_see_only_the_metadata_of_cluster_credentials(
    personas: Personas, clients: dict[str, Any], kubeconfig_secret: str
) -> None:
    member, admin = clients["member"], clients["admin"]
    url = f"{secrets_url(personas)}/{kubeconfig_secret}"
    response = member.get(url)
    assert response.status_code == 200
    assert response.json()["values"] == {"K8Sconfig": "<hidden>"}
    assert_problem(member.get(url + "?values=true"), 403)
    assert_problem(member.get(url + "?version=1"), 403)
    assert_problem(member.get(url + "/validate?validate=false"), 403)
    body = {"values": {"K8Sconfig": KUBECONFIG}, "tags": []}
    assert_problem(member.put(url + "?validate=false", body, format="json"), 403)
    assert_problem(member.delete(url), 403)
    listed = member.get(secrets_url(personas) + "?values=true").json()
    assert [s["id"] for s in listed] == [kubeconfig_secret]
    assert listed[0]["values"] == {"K8Sconfig": "<hidden>"}
    assert b"kube-credential-token" not in member.get(secrets_url(personas)).content
    # Admins read them.
    assert "kube-credential-token" in admin.get(url).json()["values"]["K8Sconfig"]
    listed = admin.get(secrets_url(personas) + "?values=true").json()
    assert "kube-credential-token" in listed[0]["values"]["K8Sconfig"]


def test_members_cannot_create_cluster_credentials(
    vault: VaultServer, personas: Personas, clients: dict[str, Any]
) -> None:
    body = {"name": "kc", "type": "kubernetes", "values": {"K8Sconfig": KUBECONFIG}}
    assert_problem(create(clients["member"], personas, body), 403)
    assert not SecretIndex.objects.exists()


def test_members_cannot_reveal_edit_or_delete_cluster_credentials_in_the_dashboard(
    personas: Personas, kubeconfig_secret: str
) -> None:
    page = f"/orgs/{personas.org.pk}/secrets/{kubeconfig_secret}/"
    member = signed_in(personas.member)
    detail = member.get(page)
    assert detail.status_code == 200 and b"kube-credential-token" not in detail.content
    assert member.post(page + "values/K8Sconfig/").status_code == 403
    assert member.get(page + "edit/").status_code == 403
    assert member.post(page + "delete/").status_code == 403
    response = member.post(
        f"/orgs/{personas.org.pk}/secrets/new/",
        {"type": "kubernetes", "name": "kc2", "v_K8Sconfig": KUBECONFIG},
    )
    assert response.status_code == 403
    assert SecretIndex.objects.count() == 1
    admin = signed_in(personas.admin)
    assert b"kube-credential-token" in admin.post(page + "values/K8Sconfig/").content


# --------------------------------------------------------------------------- dashboard errors


def test_deleting_a_secret_a_cluster_uses_is_a_message_and_changes_nothing(
    personas: Personas, kubeconfig_secret: str
) -> None:
    Cluster.objects.create(
        organization=personas.org, name="prod", kubeconfig_secret_id=kubeconfig_secret
    )
    page = f"/orgs/{personas.org.pk}/secrets/{kubeconfig_secret}/"
    admin = signed_in(personas.admin)
    response = admin.post(page + "delete/", HTTP_REFERER=f"http://testserver{page}")
    assert response.status_code == 302 and response["Location"] == f"http://testserver{page}"
    shown = admin.get(page).content.decode()
    assert "use this secret as their kubeconfig" in shown
    response = admin.post(page + "delete/", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Retarget"] == "#alerts"
    assert "use this secret as their kubeconfig" in response.content.decode()
    assert SecretIndex.objects.filter(secret_id=kubeconfig_secret).exists()
    assert vault_client.read(f"orgs/{personas.org.pk}/{kubeconfig_secret}") is not None


# --------------------------------------------------------------------------- logs


def test_an_unexpected_error_logs_its_type_and_request_id_never_its_message(
    personas: Personas, clients: dict[str, Any], app_log: io.StringIO, monkeypatch: Any
) -> None:
    canary = "canary-7f3e9a1b-from-a-request"

    def broken(**kwargs: Any) -> Any:
        try:
            raise KeyError(canary)
        except KeyError as exc:
            raise ValueError(f"Invalid header value b'Bearer {canary}'") from exc

    monkeypatch.setattr("secrets_app.selectors.secret_list", broken)
    response = clients["admin"].get(secrets_url(personas), HTTP_X_REQUEST_ID="req-0123456789")
    body = assert_problem(response, 500)
    assert body["requestId"] == "req-0123456789" and canary not in response.content.decode()
    logged = app_log.getvalue()
    assert "req-0123456789" in logged and "builtins.ValueError (message withheld)" in logged
    assert "builtins.KeyError (message withheld)" in logged and "Traceback" in logged
    assert canary not in logged


# --------------------------------------------------------------------------- Vault token


@pytest.mark.slow
def test_the_apps_vault_token_is_renewed_and_survives_a_failed_renewal(
    vault: VaultServer, personas: Personas, clients: dict[str, Any], monkeypatch: Any
) -> None:
    period = 4
    token = vault.root.auth.token.create(
        policies=["pipeline-secrets"], period=f"{period}s", renewable=True, no_parent=True
    )["auth"]["client_token"]
    monkeypatch.setattr(settings, "VAULT_TOKEN", token)
    monkeypatch.setattr(vault_auth, "RENEW_RETRY_SECONDS", 0.5)
    created = create(
        clients["member"],
        personas,
        {"name": "db", "type": "password", "values": {"username": "root"}},
    )
    assert created.status_code == 201
    url = f"{secrets_url(personas)}/{created.json()['id']}"
    # Vault unreachable just when a renewal is due: the renewal fails, later ones succeed.
    vault_auth.look_again(token)
    monkeypatch.setattr(settings, "VAULT_ADDR", "http://127.0.0.1:9")
    assert clients["member"].get(url).status_code == 503
    monkeypatch.setattr(settings, "VAULT_ADDR", vault.server.addr)
    deadline = time.monotonic() + 3 * period
    reads = 0
    while time.monotonic() < deadline:
        assert clients["member"].get(url).status_code == 200
        reads += 1
        time.sleep(0.5)
    assert reads >= 3 * period
    left = vault.root.auth.token.lookup(token)["data"]["ttl"]
    assert 0 < left <= period


def test_a_token_without_renewal_would_have_expired(vault: VaultServer) -> None:
    """The counterpart: the same short period, unrenewed, ends the token."""
    token = vault.root.auth.token.create(
        policies=["pipeline-secrets"], period="2s", renewable=True, no_parent=True
    )["auth"]["client_token"]
    time.sleep(3.5)
    with pytest.raises(Exception, match=r"(?i)permission denied|bad token|invalid token"):
        vault.root.auth.token.lookup(token)


def test_keep_token_alive_renews_an_idle_token(vault: VaultServer, monkeypatch: Any) -> None:
    token = vault.root.auth.token.create(
        policies=["pipeline-secrets"], ttl="1h", renewable=True, no_parent=True
    )["auth"]["client_token"]
    # Most of its TTL has gone by (OpenBao shortens it on request: no waiting).
    vault.root.auth.token.renew(token, increment="10s")
    assert vault.root.auth.token.lookup(token)["data"]["ttl"] <= 10
    monkeypatch.setattr(settings, "VAULT_TOKEN", token)
    vault_client.keep_token_alive()
    assert vault.root.auth.token.lookup(token)["data"]["ttl"] > 1800
