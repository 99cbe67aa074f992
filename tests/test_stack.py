"""tools.devstack.openbao against a real OpenBao server and a real PostgreSQL server (no mocks)."""

from __future__ import annotations

import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import hvac
import hvac.exceptions
import psycopg
import pytest

from tools.devstack.pytest_plugin import OpenBao, Postgres, StackError

MOUNT = "secret"


def kv_client(bao: OpenBao, token: str) -> hvac.Client:
    return bao.client(token)


def write(client: hvac.Client, path: str, value: str) -> None:
    client.secrets.kv.v2.create_or_update_secret(
        path=path, secret={"value": value}, mount_point=MOUNT
    )


def read(client: hvac.Client, path: str) -> str:
    response = client.secrets.kv.v2.read_secret_version(
        path=path, mount_point=MOUNT, raise_on_deleted_version=True
    )
    return str(response["data"]["data"]["value"])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBao]:
    """An initialised, unsealed, configured OpenBao shared by this module's tests."""
    server = OpenBao(tmp_path_factory.mktemp("bao") / "vault")
    server.start_ready()
    try:
        server.configure_app(MOUNT)
        yield server
    finally:
        server.stop()


def test_app_token_reads_and_writes_under_orgs_only(bao: OpenBao) -> None:
    client = kv_client(bao, bao.app_token_path.read_text())
    write(client, "orgs/1/x", "s3cret")
    assert read(client, "orgs/1/x") == "s3cret"
    listed = client.secrets.kv.v2.list_secrets(path="orgs", mount_point=MOUNT)
    assert "1/" in listed["data"]["keys"]
    with pytest.raises(hvac.exceptions.Forbidden):
        write(client, "elsewhere/x", "nope")
    with pytest.raises(hvac.exceptions.Forbidden):
        write(client, "orgs-evil/x", "nope")
    with pytest.raises(hvac.exceptions.Forbidden):
        client.sys.list_mounted_secrets_engines()


def test_app_token_is_a_periodic_orphan_with_only_the_app_policy(bao: OpenBao) -> None:
    token = bao.app_token_path.read_text()
    info = kv_client(bao, token).auth.token.lookup_self()["data"]
    assert sorted(info["policies"]) == ["default", "pipeline-secrets"]
    assert info["period"] == 768 * 3600
    assert info["renewable"] is True
    assert info["orphan"] is True


def test_credential_files_are_private(bao: OpenBao) -> None:
    assert mode(bao.data_dir) == 0o700
    assert mode(bao.init_path) == 0o600
    assert mode(bao.app_token_path) == 0o600


def test_restart_keeps_data_and_configure_app_rotates_the_token(tmp_path: Path) -> None:
    data_dir = tmp_path / "vault"
    first = OpenBao(data_dir)
    first.start_ready()
    try:
        old_token = first.configure_app(MOUNT)
        write(kv_client(first, old_token), "orgs/7/db", "kept")
    finally:
        first.stop()

    second = OpenBao(data_dir)
    second.start_ready()
    try:
        second.wait_kv_ready(MOUNT)
        assert read(kv_client(second, old_token), "orgs/7/db") == "kept"
        new_token = second.configure_app(MOUNT)
        assert new_token != old_token
        assert second.app_token_path.read_text() == new_token
        assert read(kv_client(second, new_token), "orgs/7/db") == "kept"
        with pytest.raises(hvac.exceptions.Forbidden):
            kv_client(second, old_token).auth.token.lookup_self()
    finally:
        second.stop()


def test_seal_then_unseal(bao: OpenBao) -> None:
    bao.seal()
    assert bao.client().sys.is_sealed()
    bao.unseal()
    bao.wait_ready()
    bao.wait_kv_ready(MOUNT)
    client = kv_client(bao, bao.app_token_path.read_text())
    write(client, "orgs/2/after-unseal", "ok")
    assert read(client, "orgs/2/after-unseal") == "ok"


def test_second_server_on_a_running_data_dir_is_refused(bao: OpenBao) -> None:
    with pytest.raises(StackError, match="still uses"):
        OpenBao(bao.data_dir).start()


def test_postgres_starts_serves_and_stops() -> None:
    # Not tmp_path: as root the server runs as the postgres user, who cannot enter pytest's
    # private temporary directories.
    base_dir = Path(tempfile.mkdtemp(prefix="pipeline-secrets-test-pg-"))
    try:
        server = Postgres(base_dir)
        server.start()
        try:
            assert server.url.endswith(f"127.0.0.1:{server.port}/pipeline_secrets")
            with psycopg.connect(server.url, connect_timeout=10) as connection:
                assert connection.execute("select 1").fetchone() == (1,)
        finally:
            server.stop()
        assert not server.running
    finally:
        shutil.rmtree(base_dir, ignore_errors=True)
