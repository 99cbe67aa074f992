"""A real OpenBao made ready for the product: a KV v2 mount, the app's policy and a
periodic app token (the server process itself is ``tools.devstack.openbao_process``;
a raft cluster of three is ``tools.devstack.raft``).

Like the process, this imports nothing from Django and never prints or logs a token: the
app token lives only in ``<data_dir>/app-token`` (mode 0600).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import requests

from tools.devstack.base import DEFAULT_TIMEOUT, StackError
from tools.devstack.openbao_process import OpenBaoProcess
from tools.devstack.proc import wait_for, write_private

# Versions of each secret the KV v2 mount keeps unless told otherwise (VAULT_MAX_VERSIONS).
DEFAULT_MAX_VERSIONS = 10
APP_POLICY = "pipeline-secrets"
APP_TOKEN_PERIOD = "768h"
# The database secrets engine the product issues dynamic credentials from.
DATABASE_MOUNT = "database"


def database_policy(mount: str = DATABASE_MOUNT) -> str:
    """The database engine part of the app's policy: the connections, roles and credentials
    the product names (``o<orgId>-…``), and the leases of the credentials it issued."""
    return f"""\
path "{mount}/config/o*" {{
  capabilities = ["create", "read", "update", "delete"]
}}
path "{mount}/roles/o*" {{
  capabilities = ["create", "read", "update", "delete"]
}}
path "{mount}/creds/o*" {{
  capabilities = ["read"]
}}
path "{mount}/rotate-root/o*" {{
  capabilities = ["update"]
}}
path "sys/leases/renew" {{
  capabilities = ["update"]
}}
path "sys/leases/revoke" {{
  capabilities = ["update"]
}}
path "sys/leases/lookup" {{
  capabilities = ["update"]
}}
"""


# One-time share links: values wrapped in single-use tokens, revoked by their accessor
# (unwrap and lookup are in the built-in ``default`` policy; wrap is too, but named here so
# that a token without ``default`` still shares).
WRAPPING_POLICY = """\
path "sys/wrapping/wrap" {
  capabilities = ["update"]
}
path "auth/token/revoke-accessor" {
  capabilities = ["update"]
}
"""


def app_policy(mount: str) -> str:
    """The HCL policy of the application token: KV v2 data and metadata under ``orgs/`` of
    ``mount``, and destroying old versions there; the database engine's names of the product
    (``database_policy``); wrapping for share links (``WRAPPING_POLICY``); nothing else (no
    metadata writes, no access outside ``orgs/``)."""
    return (
        database_policy()
        + f"""\
path "{mount}/data/orgs/*" {{
  capabilities = ["create", "read", "update", "delete", "list"]
}}
path "{mount}/destroy/orgs/*" {{
  capabilities = ["update"]
}}
path "{mount}/metadata/orgs/*" {{
  capabilities = ["read", "list", "delete"]
}}
path "{mount}/metadata/orgs" {{
  capabilities = ["list"]
}}
path "{mount}/metadata/orgs/" {{
  capabilities = ["list"]
}}
"""
        + WRAPPING_POLICY
    )


class OpenBao(OpenBaoProcess):
    """An OpenBao server (see OpenBaoProcess) the product can use once configure_app() has
    run: its token is then in ``app_token_path`` (mode 0600), never printed or logged."""

    @property
    def app_token_path(self) -> Path:
        return self.data_dir / "app-token"

    def configure_app(
        self,
        mount: str = "secret",
        timeout: float = DEFAULT_TIMEOUT,
        max_versions: int = DEFAULT_MAX_VERSIONS,
    ) -> str:
        """Make the server ready for the application and return a fresh application token.

        Ensures a KV v2 engine at ``mount`` keeping ``max_versions`` versions of each secret
        (the mount's configuration: the app's ``VAULT_MAX_VERSIONS``) and the
        ``pipeline-secrets`` policy (see app_policy()), then creates a periodic (768h),
        renewable orphan token carrying that policy plus the built-in ``default`` policy
        (self lookup/renewal). The token is written to ``app-token`` (mode 0600, no trailing
        newline) before the token written there previously, if any, is revoked, so the file
        always holds a valid token."""
        client = self.root_client()
        self._ensure_kv2(client, mount)
        self._ensure_database(client)
        self.wait_kv_ready(mount, timeout)
        client.secrets.kv.v2.configure(max_versions=max_versions, mount_point=mount)
        client.sys.create_or_update_policy(name=APP_POLICY, policy=app_policy(mount))
        created = client.auth.token.create(
            policies=[APP_POLICY],
            period=APP_TOKEN_PERIOD,
            renewable=True,
            no_parent=True,
            display_name=APP_POLICY,
        )
        token: str = created["auth"]["client_token"]
        previous = self._read_app_token()
        write_private(self.app_token_path, token)
        if previous and previous != token:
            self._revoke(client, previous)
        return token

    @staticmethod
    def _ensure_kv2(client: hvac.Client, mount: str) -> None:
        """Enable KV v2 at ``mount``; raise if another engine or KV v1 is mounted there."""
        mounts: dict[str, Any] = client.sys.list_mounted_secrets_engines()
        mounts = mounts.get("data", mounts)
        existing = mounts.get(f"{mount}/")
        if existing is None:
            client.sys.enable_secrets_engine(
                backend_type="kv", path=mount, options={"version": "2"}
            )
            return
        version = (existing.get("options") or {}).get("version")
        if existing.get("type") != "kv" or version != "2":
            raise StackError(
                f"{mount}/ is already mounted as {existing.get('type')} (version {version}), "
                "not KV v2"
            )

    @staticmethod
    def _ensure_database(client: hvac.Client) -> None:
        """Enable the database secrets engine at ``DATABASE_MOUNT`` unless it is there."""
        mounts: dict[str, Any] = client.sys.list_mounted_secrets_engines()
        mounts = mounts.get("data", mounts)
        if f"{DATABASE_MOUNT}/" not in mounts:
            client.sys.enable_secrets_engine(backend_type="database", path=DATABASE_MOUNT)

    def wait_kv_ready(self, mount: str = "secret", timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the KV v2 engine at ``mount`` serves requests: right after it is
        enabled, and after each unseal, it may briefly answer "upgrading"."""
        client = self.root_client()

        def serving() -> bool:
            self.check_alive()
            try:
                client.read(f"{mount}/config")
            except (hvac.exceptions.VaultError, requests.RequestException):
                return False
            return True

        what = f"the KV v2 engine at {mount}/ to serve requests"
        wait_for(serving, timeout, what, error=StackError)

    def _read_app_token(self) -> str | None:
        try:
            return self.app_token_path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    @staticmethod
    def _revoke(client: hvac.Client, token: str) -> None:
        """Revoke ``token``; a token that is already invalid is fine."""
        with contextlib.suppress(hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden):
            client.auth.token.revoke(token)
