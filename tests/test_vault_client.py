"""The one Vault client against a real OpenBao: hvac's calls over the shared connection
pool, a standby's redirect followed, retries and the check whether a write landed, and the
audit trail of reads that find nothing or fail."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import hvac
import pytest
import requests.adapters
from django.db import OperationalError

from audit import services as audit
from audit.models import AuditEvent
from pipeline_secrets.core.errors import VaultUnavailableError
from secrets_app import vault as store
from secrets_app.models import SecretIndex
from secrets_app.selectors import vault_path
from secrets_app.vault import transport
from tests.helpers import assert_problem
from tools.devstack.pytest_plugin import free_port

pytestmark = pytest.mark.django_db


def create(client, org_id: int, name: str, value: str = "v1") -> str:
    got = client.post(
        f"/api/v1/orgs/{org_id}/secrets",
        {"name": name, "type": "generic", "values": {"k": value}},
        format="json",
    )
    assert got.status_code == 201, got.content
    return str(got.json()["id"])


def reads_of(secret_id: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="secret.read", target_id=secret_id))


# --------------------------------------------------------------------------- the client


def test_client_answers_documents_and_hvac_errors_over_the_shared_pool(vault):
    kv = vault.root.secrets.kv.v2
    kv.create_or_update_secret(path="orgs/9/plain", secret={"k": "v"}, mount_point="secret")
    client = transport.hvac_client(vault.server.addr, vault.app_token)
    assert client.adapter.session is transport.SESSION
    got = client.secrets.kv.v2.read_secret_version(
        path="orgs/9/plain", mount_point="secret", raise_on_deleted_version=False
    )
    assert got["data"]["data"] == {"k": "v"}
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.secrets.kv.v2.read_secret_version(
            path="orgs/9/missing", mount_point="secret", raise_on_deleted_version=False
        )
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.kv.v2.read_secret_version(
            path="elsewhere", mount_point="secret", raise_on_deleted_version=True
        )
    done = client.secrets.kv.v2.delete_metadata_and_all_versions(
        path="orgs/9/plain", mount_point="secret"
    )
    assert done.status_code == 204 and done.ok


def test_the_pool_keeps_connections_for_concurrent_calls():
    for scheme in ("http://", "https://"):
        pooled = transport.SESSION.get_adapter(f"{scheme}vault.example")
        assert isinstance(pooled, requests.adapters.HTTPAdapter)
        assert pooled.poolmanager.connection_pool_kw["maxsize"] == transport.POOL_SIZE
    assert transport.SESSION.trust_env is False  # no proxy or netrc look-ups


def test_an_unreachable_vault_is_a_503_naming_vault_after_the_retries(settings):
    settings.VAULT_ADDR = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings.VAULT_TOKEN = "hvs.not-to-be-shown"
    settings.VAULT_RETRY_SECONDS = 0.3
    with pytest.raises(VaultUnavailableError) as failed:
        store.read("orgs/1/x")
    assert "unreachable" in str(failed.value) and "ConnectionError" in str(failed.value)
    assert "not-to-be-shown" not in str(failed.value)


class _Redirector(http.server.BaseHTTPRequestHandler):
    """A standby that sends every call to the active node with a 307, as Vault does."""

    target = ""
    seen_tokens: list[str] = []

    def _redirect(self) -> None:
        self.seen_tokens.append(self.headers.get("X-Vault-Token", ""))
        self.send_response(307)
        self.send_header("Location", f"{self.target}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = _redirect

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def standby(vault, settings) -> Iterator[type[_Redirector]]:
    handler = type("Standby", (_Redirector,), {"target": vault.server.addr, "seen_tokens": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.VAULT_ADDR = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def test_calls_through_a_standby_follow_its_redirect_with_method_body_and_token(
    standby, personas, clients
):
    org = personas.org.pk
    secret_id = create(clients["member"], org, "via-standby", value="kept")
    got = clients["member"].get(f"/api/v1/orgs/{org}/secrets/{secret_id}")
    assert got.status_code == 200 and got.json()["values"] == {"k": "kept"}
    # The write (a POST with its body) and the read both went through the redirect.
    assert len(standby.seen_tokens) >= 2 and all(standby.seen_tokens)
    assert [e.detail["version"] for e in reads_of(secret_id)] == [1]


class _LosesFirstWriteAnswer(_Redirector):
    """A node that passes the first KV write on to Vault but drops the connection before
    answering (the answer lost in transit), and redirects every other call to Vault."""

    posts: list[str] = []

    def do_POST(self) -> None:
        if self.posts:
            self._redirect()
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.posts.append(self.path)
        requests.post(
            f"{self.target}{self.path}",
            data=body,
            headers={"X-Vault-Token": self.headers["X-Vault-Token"]},
            timeout=5,
        ).raise_for_status()
        self.close_connection = True  # no answer: the client sees the connection drop


def test_a_write_whose_answer_was_lost_is_found_landed_not_written_twice(
    vault, personas, clients, settings
):
    org = personas.org.pk
    secret_id = create(clients["member"], org, "lost-answer", value="one")
    path = vault_path(org, secret_id)
    current = store.read(path)
    assert current is not None
    handler: type[_LosesFirstWriteAnswer] = type(
        "Lossy", (_LosesFirstWriteAnswer,), {"target": vault.server.addr, "posts": []}
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.VAULT_ADDR = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        data = {**current.data, "values": {"k": "two"}}
        written = store.write(path, data, cas=current.version)
        kept = [v.version for v in store.versions(path)]
    finally:
        server.shutdown()
        server.server_close()
    assert handler.posts == [f"/v1/secret/data/{path}"]
    assert written.version == 2 and kept == [2, 1]


# --------------------------------------------------------------------------- KV reads and writes


def test_a_missing_or_deleted_version_is_none(vault, personas, clients):
    org = personas.org.pk
    secret_id = create(clients["member"], org, "versions")
    path = vault_path(org, secret_id)
    assert store.read(f"orgs/{org}/nothing-here") is None
    assert store.read(path, version=7) is None
    vault.root.secrets.kv.v2.delete_secret_versions(path=path, versions=[1], mount_point="secret")
    assert store.read(path, version=1) is None


def test_a_lost_check_and_set_race_is_a_mismatch_and_writes_nothing(vault, personas, clients):
    org = personas.org.pk
    secret_id = create(clients["member"], org, "raced")
    path = vault_path(org, secret_id)
    current = store.read(path)
    assert current is not None
    with pytest.raises(store.CasMismatchError):
        store.write(path, {**current.data, "values": {"k": "late"}}, cas=0)
    written = store.write(path, {**current.data, "values": {"k": "next"}}, cas=current.version)
    assert written.version == 2
    assert [v.version for v in store.versions(path)] == [2, 1]


def test_reads_work_again_after_vault_restarts_under_kept_connections(own_vault, personas, clients):
    org = personas.org.pk
    secret_id = create(clients["member"], org, "restarted", value="still")
    detail = f"/api/v1/orgs/{org}/secrets/{secret_id}"
    assert clients["member"].get(detail).json()["values"] == {"k": "still"}
    own_vault.stop()
    own_vault.start_ready()  # the kept connections were closed by the old process
    for _ in range(3):
        got = clients["member"].get(detail)
        assert got.status_code == 200 and got.json()["values"] == {"k": "still"}


# --------------------------------------------------------------------------- audit of reads


def test_a_read_that_finds_nothing_leaves_no_read_in_the_audit(vault, personas, clients):
    org = personas.org.pk
    secret_id = create(clients["member"], org, "gone-from-vault")
    vault.root.secrets.kv.v2.delete_metadata_and_all_versions(
        path=vault_path(org, secret_id), mount_point="secret"
    )
    assert_problem(clients["member"].get(f"/api/v1/orgs/{org}/secrets/{secret_id}"), 404)
    assert reads_of(secret_id) == []


def test_a_read_records_the_version_vault_answered_when_the_index_lags(vault, personas, clients):
    org = personas.org.pk
    secret_id = create(clients["member"], org, "moved-on")
    document = store.read(vault_path(org, secret_id))
    assert document is not None
    vault.root.secrets.kv.v2.create_or_update_secret(
        path=vault_path(org, secret_id),
        secret={**document.data, "values": {"k": "v2"}},
        mount_point="secret",
    )
    got = clients["member"].get(f"/api/v1/orgs/{org}/secrets/{secret_id}")
    assert got.json()["values"] == {"k": "v2"} and got.json()["version"] == 2
    assert [e.detail["version"] for e in reads_of(secret_id)] == [2]
    assert SecretIndex.objects.get(secret_id=secret_id).version == 2


def test_no_value_is_returned_when_the_audit_row_cannot_be_written(
    vault, personas, clients, monkeypatch
):
    org = personas.org.pk
    secret_id = create(clients["member"], org, "unaudited", value="must-not-leave")

    def refused(**kwargs: object) -> AuditEvent:
        raise OperationalError("database is locked")

    monkeypatch.setattr(audit, "record", refused)
    got = clients["member"].get(f"/api/v1/orgs/{org}/secrets/{secret_id}")
    assert got.status_code == 503 and b"must-not-leave" not in got.content
    monkeypatch.undo()
    # The dropped answer is not read by the next call on that connection.
    again = clients["member"].get(f"/api/v1/orgs/{org}/secrets/{secret_id}")
    assert again.json()["values"] == {"k": "must-not-leave"}
    assert len(reads_of(secret_id)) == 1


def test_a_read_that_fails_takes_its_audit_row_back(own_vault, personas, clients):
    org = personas.org.pk
    secret_id = create(clients["member"], org, "outage-read")
    own_vault.stop()
    assert_problem(clients["member"].get(f"/api/v1/orgs/{org}/secrets/{secret_id}"), 503)
    assert reads_of(secret_id) == []
