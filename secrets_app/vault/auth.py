"""The app's Vault token: a static one (``VAULT_TOKEN`` or ``VAULT_TOKEN_FILE``), renewed
while it is used, or one from an AppRole or Kubernetes log-in, replaced by a new log-in
before it expires and whenever Vault refuses it. Tokens are kept in this process only."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import requests
from django.conf import settings

from pipeline_secrets.core.errors import VaultUnavailableError
from secrets_app.vault.transport import current_address, hvac_client

logger = logging.getLogger(__name__)

LOGIN_METHODS = {"approle", "kubernetes"}


@dataclass
class _Login:
    token: str
    renew_at: float  # monotonic seconds: log in again from then on


# The token obtained by AppRole or Kubernetes login, by (method, role).
_logins: dict[tuple[str, str], _Login] = {}
_login_lock = threading.Lock()
# The token last read from each token file, with the file's identity and change time.
_token_files: dict[str, tuple[tuple[str, int, int, int], str]] = {}


def method() -> str:
    """``VAULT_AUTH_METHOD``: ``token``, ``approle`` or ``kubernetes``."""
    return str(getattr(settings, "VAULT_AUTH_METHOD", "token") or "token").lower()


def _login_key() -> tuple[str, str]:
    role = settings.VAULT_ROLE_ID if method() == "approle" else settings.VAULT_K8S_ROLE
    return (method(), str(role))


def _read_secret_file(path: str, what: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        raise VaultUnavailableError(f"{what} file {path} is missing or unreadable.") from None


def _log_in(anonymous: hvac.Client) -> Any:
    if method() == "approle":
        secret_id = settings.VAULT_SECRET_ID or _read_secret_file(
            settings.VAULT_SECRET_ID_FILE, "AppRole secret id"
        )
        return anonymous.auth.approle.login(
            role_id=settings.VAULT_ROLE_ID,
            secret_id=secret_id,
            mount_point=settings.VAULT_AUTH_MOUNT or "approle",
            use_token=False,
        )
    # Read afresh each time: the kubelet rotates projected ServiceAccount tokens.
    jwt = _read_secret_file(settings.VAULT_K8S_TOKEN_FILE, "ServiceAccount token")
    return anonymous.auth.kubernetes.login(
        role=settings.VAULT_K8S_ROLE,
        jwt=jwt,
        mount_point=settings.VAULT_AUTH_MOUNT or "kubernetes",
        use_token=False,
    )


def _login() -> str:
    """A token from AppRole or Kubernetes login, reused until two thirds of its lease have
    passed; then (or after Vault refused it) the app logs in again."""
    key = _login_key()
    cached = _logins.get(key)
    if cached is not None and time.monotonic() < cached.renew_at:
        return cached.token
    with _login_lock:
        cached = _logins.get(key)
        if cached is not None and time.monotonic() < cached.renew_at:
            return cached.token
        auth = _log_in(hvac_client(current_address()))["auth"]
        lease = int(auth.get("lease_duration") or 0)
        renew_at = time.monotonic() + (lease * 2 / 3 if lease else float("inf"))
        _logins[key] = _Login(token=str(auth["client_token"]), renew_at=renew_at)
        logger.info("vault login (%s) succeeded; lease %ss", method(), lease)
        return _logins[key].token


def forget_login() -> bool:
    """Drop the cached login token (Vault refused it); False for a static token."""
    if method() not in LOGIN_METHODS:
        return False
    _logins.pop(_login_key(), None)
    return True


def forget_logins() -> None:
    """Drop every cached login token: the next call logs in afresh."""
    _logins.clear()


def token() -> str:
    """The token calls carry now."""
    if method() in LOGIN_METHODS:
        return _login()
    if settings.VAULT_TOKEN:
        return str(settings.VAULT_TOKEN)
    path = Path(settings.VAULT_TOKEN_FILE)
    try:
        # Read again only when the file changed (a rotated token): a stat per call.
        seen = path.stat()
        key = (str(path), seen.st_ino, seen.st_mtime_ns, seen.st_size)
        cached = _token_files.get(str(path))
        if cached is not None and cached[0] == key:
            return cached[1]
        found = path.read_text().strip()
    except OSError:
        raise VaultUnavailableError(
            f"Vault token file {path} is missing: is Vault set up (make run)?"
        ) from None
    _token_files[str(path)] = (key, found)
    return found


# --------------------------------------------------------------------------- renewal

# When each token's TTL is next looked at (monotonic seconds), by token.
_renew_due: dict[str, float] = {}
_renew_lock = threading.Lock()
# After a failed look-up or renewal, try again this soon (a period is far longer).
RENEW_RETRY_SECONDS = 2.0


def renewal_due(static_token: str) -> bool:
    """Whether the TTL of ``static_token`` is to be looked at now."""
    return time.monotonic() >= _renew_due.get(static_token, 0.0)


def look_again(static_token: str) -> None:
    """Look at the TTL of ``static_token`` on its next use."""
    _renew_due[static_token] = 0.0


def _next_look(vault_client: hvac.Client, now: float) -> float:
    """Renew the client's token if less than half of its TTL is left; when to look again."""
    info = vault_client.auth.token.lookup_self()["data"]
    ttl = int(info.get("ttl") or 0)
    full = int(info.get("period") or info.get("creation_ttl") or ttl)
    if ttl == 0:
        return float("inf")
    if not info.get("renewable"):
        return now + max(ttl / 2, 60.0)
    if ttl < full / 2:
        # A periodic token renews to its period (the increment is ignored); another
        # renewable token asks for its whole TTL again, not the last increment.
        renewed = vault_client.auth.token.renew_self(increment=full)
        ttl = int(renewed["auth"]["lease_duration"])
        logger.info("vault token renewed for %ss", ttl)
    return now + max(ttl - full / 2, RENEW_RETRY_SECONDS / 2)


def renew_if_due(vault_client: hvac.Client, static_token: str) -> None:
    """Renew ``static_token`` when less than half of its TTL is left; never fails the caller.

    The app's token is periodic: without renewal it dies after one period and every call
    is refused until a restart. A token without expiry (ttl 0) is never looked at again;
    a failure (Vault sealed or unreachable for a moment) is retried a little later.
    """
    if not _renew_lock.acquire(blocking=False):
        return  # another thread is renewing it now
    try:
        now = time.monotonic()
        if now < _renew_due.get(static_token, 0.0):
            return
        try:
            _renew_due[static_token] = _next_look(vault_client, now)
        except (hvac.exceptions.VaultError, requests.RequestException, KeyError) as exc:
            logger.warning("vault token renewal failed (%s); retrying", type(exc).__name__)
            _renew_due[static_token] = now + RENEW_RETRY_SECONDS
    finally:
        _renew_lock.release()
