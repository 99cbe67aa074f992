"""The one module that talks to Vault/OpenBao (KV version 2).

Configuration comes from settings (``VAULT_ADDR``, ``VAULT_TOKEN`` or ``VAULT_TOKEN_FILE``,
``VAULT_MOUNT``). Every hvac or transport failure is turned into one of two exceptions:
``VaultUnavailableError`` (sealed, unreachable, 5xx; the caller sees a 503 naming Vault) or
``CasMismatchError`` (a check-and-set write lost a race). Messages carry paths, never values.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import requests
from django.conf import settings

from pipeline_secrets.core.errors import VaultUnavailableError

logger = logging.getLogger(__name__)


# Reads of many documents at once (a listing with values, an install batch) run this many
# at a time: enough to overlap round trips, few enough not to crowd Vault.
READERS = 8


class CasMismatchError(Exception):
    """The version given for check-and-set is not the current one."""


@dataclass(frozen=True)
class VaultDocument:
    data: dict[str, Any]
    version: int
    created_time: str


def _new_session() -> requests.Session:
    session = requests.Session()
    # Vault is addressed directly: skip proxy and netrc look-ups on every call.
    session.trust_env = False
    return session


_session = _new_session()
_clients: dict[tuple[str, str, int], hvac.Client] = {}


def _token() -> str:
    if settings.VAULT_TOKEN:
        return str(settings.VAULT_TOKEN)
    path = Path(settings.VAULT_TOKEN_FILE)
    try:
        return path.read_text().strip()
    except OSError:
        raise VaultUnavailableError(
            f"Vault token file {path} is missing: is Vault set up (make run)?"
        ) from None


def client() -> hvac.Client:
    """A client for the configured Vault, reused while address and token stay the same.

    Clients hold no per-request state; reusing one keeps its connection pool warm. A new
    token (a rotated token file) gets a new client. The token is renewed on use once less
    than half of its TTL is left (see ``_renew_if_due``).
    """
    key = (settings.VAULT_ADDR, _token(), settings.VAULT_TIMEOUT)
    cached = _clients.get(key)
    if cached is None:
        if len(_clients) > 8:
            _clients.clear()
        cached = hvac.Client(url=key[0], token=key[1], timeout=key[2], session=_session)
        _clients[key] = cached
    if time.monotonic() >= _renew_due.get(key[1], 0.0):
        _renew_if_due(cached, key[1])
    return cached


# When each token's TTL is next looked at (monotonic seconds), by token; in-process only.
_renew_due: dict[str, float] = {}
_renew_lock = threading.Lock()
# After a failed look-up or renewal, try again this soon (a period is far longer).
RENEW_RETRY_SECONDS = 2.0


def keep_token_alive() -> None:
    """Renew the app's token if it is due: periodic jobs call this, so an idle server's
    token outlives its period too. Never raises for a Vault that is down."""
    try:
        client()
    except VaultUnavailableError as exc:
        logger.warning("vault token check skipped: %s", exc)


def _renew_if_due(vault_client: hvac.Client, token: str) -> None:
    """Renew ``token`` when less than half of its TTL is left; never fails the caller.

    The app's token is periodic: without renewal it dies after one period and every call
    is refused until a restart. A token without expiry (ttl 0) is never looked at again;
    a failure (Vault sealed or unreachable for a moment) is retried a little later.
    """
    if not _renew_lock.acquire(blocking=False):
        return  # another thread is renewing it now
    try:
        now = time.monotonic()
        if now < _renew_due.get(token, 0.0):
            return
        try:
            info = vault_client.auth.token.lookup_self()["data"]
            ttl = int(info.get("ttl") or 0)
            full = int(info.get("period") or info.get("creation_ttl") or ttl)
            if ttl == 0:
                _renew_due[token] = float("inf")
                return
            if not info.get("renewable"):
                _renew_due[token] = now + max(ttl / 2, 60.0)
                return
            if ttl < full / 2:
                # A periodic token renews to its period (the increment is ignored); another
                # renewable token asks for its whole TTL again, not the last increment.
                renewed = vault_client.auth.token.renew_self(increment=full)
                ttl = int(renewed["auth"]["lease_duration"])
                logger.info("vault token renewed for %ss", ttl)
            _renew_due[token] = now + max(ttl - full / 2, RENEW_RETRY_SECONDS / 2)
        except (hvac.exceptions.VaultError, requests.RequestException, KeyError) as exc:
            logger.warning("vault token renewal failed (%s); retrying", type(exc).__name__)
            _renew_due[token] = now + RENEW_RETRY_SECONDS
    finally:
        _renew_lock.release()


@contextmanager
def _vault_errors(action: str, path: str) -> Iterator[None]:
    try:
        yield
    except hvac.exceptions.InvalidRequest as exc:
        if "check-and-set" in str(exc):
            raise CasMismatchError(path) from None
        logger.error("vault %s %s rejected: %s", action, path, type(exc).__name__)
        raise VaultUnavailableError(f"Vault rejected {action} of {path}.") from None
    except hvac.exceptions.VaultDown:
        logger.error("vault %s %s: sealed", action, path)
        raise VaultUnavailableError("Vault is sealed; unseal it and retry.") from None
    except hvac.exceptions.Forbidden:
        logger.error("vault %s %s: permission denied", action, path)
        raise VaultUnavailableError(
            "Vault denied access: the app's Vault token lacks the policy or has expired."
        ) from None
    except (hvac.exceptions.VaultError, requests.RequestException) as exc:
        logger.error("vault %s %s failed: %s", action, path, type(exc).__name__)
        raise VaultUnavailableError(
            f"Vault at {settings.VAULT_ADDR} is unreachable or failing ({type(exc).__name__})."
        ) from None


def read(path: str, version: int | None = None) -> VaultDocument | None:
    """``version`` of ``path`` (default the current one), or None when it does not exist,
    was deleted or has been pruned."""
    kv = client().secrets.kv.v2
    with _vault_errors("read", path):
        try:
            response = kv.read_secret_version(
                path=path,
                version=version,
                mount_point=settings.VAULT_MOUNT,
                raise_on_deleted_version=False,
            )
        except hvac.exceptions.InvalidPath:
            return None
    payload = response["data"]
    if payload.get("data") is None:
        return None
    metadata = payload["metadata"]
    return VaultDocument(
        data=payload["data"],
        version=int(metadata["version"]),
        created_time=str(metadata["created_time"]),
    )


@dataclass(frozen=True)
class VersionInfo:
    version: int
    created_time: str
    deleted: bool


def versions(path: str) -> list[VersionInfo]:
    """The versions Vault keeps of ``path``, newest first (empty when it does not exist)."""
    kv = client().secrets.kv.v2
    with _vault_errors("read metadata of", path):
        try:
            response = kv.read_secret_metadata(path=path, mount_point=settings.VAULT_MOUNT)
        except hvac.exceptions.InvalidPath:
            return []
    found = [
        VersionInfo(
            version=int(number),
            created_time=str(meta["created_time"]),
            deleted=bool(meta.get("deletion_time")) or bool(meta.get("destroyed")),
        )
        for number, meta in response["data"]["versions"].items()
    ]
    return sorted(found, key=lambda v: v.version, reverse=True)


@dataclass(frozen=True)
class Written:
    """A version Vault accepted, and Vault's time for it (the one clock of ``updatedAt``)."""

    version: int
    created_at: datetime


def write(path: str, data: dict[str, Any], *, cas: int) -> Written:
    """Write ``data`` if the current version is ``cas`` (0: must not exist)."""
    kv = client().secrets.kv.v2
    with _vault_errors("write", path):
        response = kv.create_or_update_secret(
            path=path, secret=data, cas=cas, mount_point=settings.VAULT_MOUNT
        )
    meta = response["data"]
    return Written(version=int(meta["version"]), created_at=parse_time(str(meta["created_time"])))


def delete_all(path: str) -> None:
    """Remove every version and the metadata of ``path``."""
    kv = client().secrets.kv.v2
    with _vault_errors("delete", path):
        kv.delete_metadata_and_all_versions(path=path, mount_point=settings.VAULT_MOUNT)


def list_keys(path: str) -> list[str]:
    """Keys directly under ``path``; empty when there are none."""
    kv = client().secrets.kv.v2
    with _vault_errors("list", path):
        try:
            response = kv.list_secrets(path=path, mount_point=settings.VAULT_MOUNT)
        except hvac.exceptions.InvalidPath:
            return []
    return list(response["data"]["keys"])


def health() -> tuple[bool, str]:
    """(ready, reason): Vault answers, is initialised, unsealed and active."""
    try:
        response = _session.get(
            f"{settings.VAULT_ADDR}/v1/sys/health",
            params={"standbyok": "true"},
            timeout=settings.VAULT_TIMEOUT,
        )
    except requests.RequestException as exc:
        return False, f"unreachable ({type(exc).__name__})"
    if response.status_code == 200:
        return True, "ok"
    if response.status_code == 503:
        return False, "sealed"
    if response.status_code == 501:
        return False, "not initialised"
    return False, f"status {response.status_code}"


def parse_time(value: str) -> datetime:
    """Vault's RFC 3339 timestamps carry nanoseconds; Python keeps microseconds."""
    head, dot, rest = value.rstrip("Z").partition(".")
    fraction = rest[:6] if dot else "0"
    return datetime.fromisoformat(f"{head}.{fraction.ljust(6, '0')}+00:00")
