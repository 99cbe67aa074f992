"""The database secrets engine verbs of the store: connection configs, roles, credentials
and their leases under ``VAULT_DATABASE_MOUNT`` (the operator enables the engine there;
``tools/devstack/openbao.py`` shows the policy the app's token needs).

Names inside the mount are the product's own (``o<orgId>-c<pk>``, ``o<orgId>-r<pk>``):
nothing a tenant types becomes a Vault path. A root password is sent to Vault and nowhere
else; the engine's refusals are returned with it (and any issued password) scrubbed out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import hvac
import hvac.exceptions
from django.conf import settings

from secrets_app.vault.calls import call


class EngineRefusedError(Exception):
    """The database engine refused a request (a connection it could not make, a statement
    the database rejected); the message says why, without any password."""


@dataclass(frozen=True)
class Credential:
    """A credential the engine issued: its lease and the user it created."""

    lease_id: str
    lease_seconds: int
    renewable: bool
    username: str
    password: str

    def __repr__(self) -> str:  # the password never reaches a log through a repr
        return f"Credential(lease_id={self.lease_id!r}, username={self.username!r})"


def mount() -> str:
    return str(getattr(settings, "VAULT_DATABASE_MOUNT", "database"))


def scrub(message: str, *secrets: str) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


@contextmanager
def refusals(*secrets: str) -> Iterator[None]:
    """Turn the engine's 400 answers into ``EngineRefusedError`` (passwords scrubbed)."""
    try:
        yield
    except hvac.exceptions.InvalidRequest as exc:
        errors = getattr(exc, "errors", None) or [str(exc)]
        text = "; ".join(str(e) for e in errors)
        raise EngineRefusedError(scrub(text, *secrets)[:1000]) from None


def _write(action: str, path: str, body: dict[str, Any], *secrets: str) -> Any:
    def work(vault_client: hvac.Client) -> Any:
        with refusals(*secrets):
            return vault_client.write_data(path, data=body)

    return call(action, path, work)


def configure(
    name: str, plugin: str, url: str, username: str, password: str | None, roles: list[str]
) -> None:
    """Create or replace the connection ``name``; the engine connects to check it. Without
    ``password`` the engine keeps the one it has (given before, or rotated)."""
    body = {
        "plugin_name": plugin,
        "connection_url": url,
        "username": username,
        "password": password,
        "allowed_roles": roles,
        "verify_connection": True,
        "password_authentication": "scram-sha-256" if plugin.startswith("postgres") else None,
    }
    body = {key: value for key, value in body.items() if value is not None}
    _write("configure database", f"{mount()}/config/{name}", body, password or "", username)


def rotate_root(name: str) -> None:
    """Replace the connection's root password by one only Vault knows."""
    _write("rotate root of", f"{mount()}/rotate-root/{name}", {})


def remove_connection(name: str) -> None:
    path = f"{mount()}/config/{name}"
    call("delete", path, lambda vault_client: vault_client.delete(path))


def write_role(
    name: str, connection: str, statements: dict[str, list[str]], ttl: int, max_ttl: int
) -> None:
    body = {
        "db_name": connection,
        "creation_statements": statements["creation"],
        "revocation_statements": statements["revocation"],
        "default_ttl": ttl,
        "max_ttl": max_ttl,
    }
    _write("write database role", f"{mount()}/roles/{name}", body)


def remove_role(name: str) -> None:
    path = f"{mount()}/roles/{name}"
    call("delete", path, lambda vault_client: vault_client.delete(path))


def issue(role: str) -> Credential:
    """New credentials of ``role``: the engine creates the user now."""
    path = f"{mount()}/creds/{role}"

    def work(vault_client: hvac.Client) -> Any:
        with refusals():
            return vault_client.read(path)

    answer = call("issue credentials of", path, work)
    data = answer["data"]
    return Credential(
        lease_id=str(answer["lease_id"]),
        lease_seconds=int(answer["lease_duration"]),
        renewable=bool(answer["renewable"]),
        username=str(data["username"]),
        password=str(data["password"]),
    )


def renew(lease_id: str, increment: int) -> int:
    """Renew ``lease_id`` by up to ``increment`` seconds; the seconds it now has (Vault caps
    them at the role's max TTL)."""

    def work(vault_client: hvac.Client) -> Any:
        with refusals():
            return vault_client.sys.renew_lease(lease_id=lease_id, increment=increment)

    return int(call("renew lease", "sys/leases/renew", work)["lease_duration"])


def revoke(lease_id: str) -> None:
    """Revoke ``lease_id`` now: the engine drops the user. Revoking a lease that is already
    gone is fine."""

    def work(vault_client: hvac.Client) -> Any:
        with refusals():
            return vault_client.sys.revoke_lease(lease_id=lease_id)

    call("revoke lease", "sys/leases/revoke", work)
