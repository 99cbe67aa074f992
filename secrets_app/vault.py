"""The one module that talks to Vault/OpenBao (KV version 2).

Configuration comes from settings (``VAULT_ADDR``, ``VAULT_TOKEN`` or ``VAULT_TOKEN_FILE``,
``VAULT_MOUNT``). Every hvac or transport failure is turned into one of two exceptions:
``VaultUnavailableError`` (sealed, unreachable, 5xx; the caller sees a 503 naming Vault) or
``CasMismatchError`` (a check-and-set write lost a race). Messages carry paths, never values.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import hvac
import hvac.exceptions
import hvac.utils
import requests
from django.conf import settings

from pipeline_secrets.core.errors import VaultUnavailableError
from pipeline_secrets.core.metrics import observe_vault_call
from secrets_app import vault_transport
from secrets_app.vault_transport import PooledJSONAdapter

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
    """The session of health probes (calls go through ``vault_transport``'s pool)."""
    session = requests.Session()
    # Vault is addressed directly: skip proxy and netrc look-ups.
    session.trust_env = False
    return session


_session = _new_session()
_clients: dict[tuple[str, str, int], hvac.Client] = {}

# --------------------------------------------------------------------------- addresses
#
# VAULT_ADDR names one address (a single server, or a load balancer in front of a cluster)
# or several, comma-separated: the nodes of a cluster. With several, calls go to the
# active node; a standby that receives a call forwards it to the active node or redirects
# to it (requests follows the 307, keeping method and body), so either way works, but
# talking to the active node directly saves a hop and lets a failed call find the new
# active node after a leader election.

_active: dict[str, str] = {}  # VAULT_ADDR setting -> the node believed active
_active_lock = threading.Lock()
# How long one health probe of a node may take while looking for the active one.
PROBE_TIMEOUT = 1.0


def addresses() -> list[str]:
    """The configured Vault addresses, in order."""
    found = [part.strip().rstrip("/") for part in str(settings.VAULT_ADDR).split(",")]
    return [address for address in found if address] or ["http://127.0.0.1:8200"]


def current_address() -> str:
    """The address calls go to now: the node last found active, else the first one."""
    return _active.get(str(settings.VAULT_ADDR)) or addresses()[0]


def _probe(address: str) -> int | None:
    try:
        return _session.get(f"{address}/v1/sys/health", timeout=PROBE_TIMEOUT).status_code
    except requests.RequestException:
        return None


def find_active() -> bool:
    """Look for the active node among the configured addresses and send calls there from
    now on; True when one answered as active (or only one address is configured)."""
    configured = addresses()
    if len(configured) == 1:
        return True
    with _active_lock:
        for address in [current_address(), *configured]:
            if _probe(address) == 200:
                if _active.get(str(settings.VAULT_ADDR)) != address:
                    logger.info("vault active node is now %s", address)
                _active[str(settings.VAULT_ADDR)] = address
                return True
    return False


# --------------------------------------------------------------------------- tokens


@dataclass
class _Login:
    token: str
    renew_at: float  # monotonic seconds: log in again from then on


# The token obtained by AppRole or Kubernetes login, by (method, role); in-process only.
_logins: dict[tuple[str, str], _Login] = {}
_login_lock = threading.Lock()


def _method() -> str:
    return str(getattr(settings, "VAULT_AUTH_METHOD", "token") or "token").lower()


def _login_key() -> tuple[str, str]:
    role = settings.VAULT_ROLE_ID if _method() == "approle" else settings.VAULT_K8S_ROLE
    return (_method(), str(role))


def _read_secret_file(path: str, what: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        raise VaultUnavailableError(f"{what} file {path} is missing or unreadable.") from None


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
        anonymous = hvac.Client(
            url=current_address(), timeout=settings.VAULT_TIMEOUT, adapter=PooledJSONAdapter
        )
        if _method() == "approle":
            secret_id = settings.VAULT_SECRET_ID or _read_secret_file(
                settings.VAULT_SECRET_ID_FILE, "AppRole secret id"
            )
            response = anonymous.auth.approle.login(
                role_id=settings.VAULT_ROLE_ID,
                secret_id=secret_id,
                mount_point=settings.VAULT_AUTH_MOUNT or "approle",
                use_token=False,
            )
        else:
            # Read afresh each time: the kubelet rotates projected ServiceAccount tokens.
            jwt = _read_secret_file(settings.VAULT_K8S_TOKEN_FILE, "ServiceAccount token")
            response = anonymous.auth.kubernetes.login(
                role=settings.VAULT_K8S_ROLE,
                jwt=jwt,
                mount_point=settings.VAULT_AUTH_MOUNT or "kubernetes",
                use_token=False,
            )
        auth = response["auth"]
        lease = int(auth.get("lease_duration") or 0)
        renew_at = time.monotonic() + (lease * 2 / 3 if lease else float("inf"))
        _logins[key] = _Login(token=str(auth["client_token"]), renew_at=renew_at)
        logger.info("vault login (%s) succeeded; lease %ss", _method(), lease)
        return _logins[key].token


def _forget_login() -> bool:
    """Drop the cached login token (Vault refused it); False for a static token."""
    if _method() not in {"approle", "kubernetes"}:
        return False
    _logins.pop(_login_key(), None)
    return True


def _token() -> str:
    if _method() in {"approle", "kubernetes"}:
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
        token = path.read_text().strip()
    except OSError:
        raise VaultUnavailableError(
            f"Vault token file {path} is missing: is Vault set up (make run)?"
        ) from None
    _token_files[str(path)] = (key, token)
    return token


# The token last read from each token file, with the file's identity and change time.
_token_files: dict[str, tuple[tuple[str, int, int, int], str]] = {}


def client() -> hvac.Client:
    """A client for the active Vault node, reused while address and token stay the same.

    Clients hold no per-request state; reusing one keeps its connection pool warm. A new
    token (a rotated token file, a new login) gets a new client. A static token is renewed
    on use once less than half of its TTL is left (see ``_renew_if_due``); a login token is
    replaced by a new login instead.
    """
    key = (current_address(), _token(), settings.VAULT_TIMEOUT)
    cached = _clients.get(key)
    if cached is None:
        if len(_clients) > 8:
            _clients.clear()
        cached = hvac.Client(url=key[0], token=key[1], timeout=key[2], adapter=PooledJSONAdapter)
        _clients[key] = cached
    if _method() == "token" and time.monotonic() >= _renew_due.get(key[1], 0.0):
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
        _call("look up token", "-", lambda vault_client: None)
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


# --------------------------------------------------------------------------- calls

# Failures that a leader election, a restart or a moment of overload cause: the call may be
# tried again (on the node then active) until the retry bound is spent.
TRANSIENT: tuple[type[Exception], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    hvac.exceptions.VaultDown,
    hvac.exceptions.InternalServerError,
    hvac.exceptions.BadGateway,
)
FIRST_BACKOFF = 0.05
MAX_BACKOFF = 0.5

T = TypeVar("T")


def _retry_bound() -> float:
    return float(getattr(settings, "VAULT_RETRY_SECONDS", 10))


def _call(action: str, path: str, call: Callable[[hvac.Client], T]) -> T:
    """``call(client)``, tried again on transient failures (after looking for the active
    node) until ``VAULT_RETRY_SECONDS`` have passed; a token Vault refuses is replaced by a
    new login once. Only for calls that are safe to repeat: reads, deletes, log-ins, and
    check-and-set writes through ``write`` (which looks before it repeats). Failures come
    out as ``VaultUnavailableError`` (with ``retry_after``) or ``CasMismatchError``."""
    deadline = time.monotonic() + _retry_bound()
    backoff = FIRST_BACKOFF
    logged_in_again = False
    attempt = 0
    while True:
        attempt += 1
        started = time.monotonic()
        outcome = "ok"
        try:
            with _vault_errors(action, path, final=False):
                return call(client())
        except _Transient as exc:
            outcome = "transient"
            if time.monotonic() + backoff >= deadline:
                outcome = "error"
                raise _unavailable(action, path, exc.cause) from None
            if attempt == 1:
                logger.warning(
                    "vault %s %s: %s; retrying for up to %ss",
                    action,
                    path,
                    type(exc.cause).__name__,
                    f"{_retry_bound():g}",
                )
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
            find_active()
        except _Refused as exc:
            outcome = "error"
            if not logged_in_again and _forget_login():
                logged_in_again = True
                continue
            raise _unavailable(action, path, exc.cause) from None
        except (VaultUnavailableError, CasMismatchError):
            outcome = "error"
            raise
        finally:
            observe_vault_call(action, outcome, time.monotonic() - started)


class _Transient(Exception):
    def __init__(self, cause: Exception) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


class _Refused(Exception):
    def __init__(self, cause: Exception) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


def _unavailable(action: str, path: str, exc: Exception) -> VaultUnavailableError:
    """The caller-facing error for a failure that outlasted the retries."""
    retry_after = max(1, int(_retry_bound() / 2) or 1)
    if isinstance(exc, hvac.exceptions.VaultDown):
        logger.error("vault %s %s: sealed or without an active node", action, path)
        return VaultUnavailableError(
            "Vault is sealed or has no active node; unseal it and retry.", retry_after
        )
    if isinstance(exc, hvac.exceptions.Forbidden):
        logger.error("vault %s %s: permission denied", action, path)
        return VaultUnavailableError(
            "Vault denied access: the app's Vault token lacks the policy or has expired.",
            retry_after,
        )
    logger.error("vault %s %s failed: %s", action, path, type(exc).__name__)
    return VaultUnavailableError(
        f"Vault at {current_address()} is unreachable or failing ({type(exc).__name__}).",
        retry_after,
    )


@contextmanager
def _vault_errors(action: str, path: str, *, final: bool = True) -> Iterator[None]:
    """Sort hvac and transport failures: CAS conflicts, transient failures (``_Transient``
    inside ``_call``), refusals (``_Refused``) and the rest (``VaultUnavailableError``)."""
    try:
        yield
    except hvac.exceptions.InvalidRequest as exc:
        if "check-and-set" in str(exc):
            raise CasMismatchError(path) from None
        logger.error("vault %s %s rejected: %s", action, path, type(exc).__name__)
        raise VaultUnavailableError(f"Vault rejected {action} of {path}.") from None
    except hvac.exceptions.Forbidden as exc:
        if final:
            raise _unavailable(action, path, exc) from None
        raise _Refused(exc) from None
    except TRANSIENT as exc:
        if final:
            raise _unavailable(action, path, exc) from None
        raise _Transient(exc) from None
    except (hvac.exceptions.VaultError, requests.RequestException) as exc:
        raise _unavailable(action, path, exc) from None


def read(path: str, version: int | None = None) -> VaultDocument | None:
    """``version`` of ``path`` (default the current one), or None when it does not exist,
    was deleted or has been pruned. Sent over ``vault_transport`` first (``read_later``);
    anything but a plain 200 is asked again through hvac."""
    return read_later(path, version)()


def _read_hvac(path: str, version: int | None) -> VaultDocument | None:
    """``read`` through hvac, with the retry rules of ``_call``."""

    def call(vault_client: hvac.Client) -> Any:
        try:
            return vault_client.secrets.kv.v2.read_secret_version(
                path=path,
                version=version,
                mount_point=settings.VAULT_MOUNT,
                raise_on_deleted_version=False,
            )
        except hvac.exceptions.InvalidPath:
            return None

    return _document(_call("read", path, call))


def _document(response: Any) -> VaultDocument | None:
    """The document of a KV v2 read's answer (None: none, or deleted)."""
    if response is None:
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


def _send(
    method: str, path: str, body: dict[str, Any] | None = None, query: str = ""
) -> tuple[vault_transport.Sent | None, float]:
    """Send a KV v2 call for ``path`` over ``vault_transport.send`` with the app's client
    (its address, token and TLS set-up): the request on the wire (None: it could not be
    sent) and when the call started."""
    started = time.monotonic()
    try:
        adapter = client().adapter
    except (VaultUnavailableError, hvac.exceptions.VaultError, requests.RequestException):
        return None, started  # no token to send with: the hvac path tells why
    url = adapter.base_uri + hvac.utils.format_url(
        "/v1/{mount_point}/data/{path}", mount_point=settings.VAULT_MOUNT, path=path
    )
    headers = {"X-Vault-Request": "true", "X-Vault-Token": str(adapter.token)}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    sent = vault_transport.send(
        method,
        url + query,
        headers,
        payload,
        timeout=float(settings.VAULT_TIMEOUT),
        verify=adapter._kwargs.get("verify"),
        cert=adapter._kwargs.get("cert"),
    )
    return sent, started


def read_later(path: str, version: int | None = None) -> Callable[[], VaultDocument | None]:
    """``read`` in two halves: the request goes out now, and the function returned reads the
    answer (what ``read`` returns or raises). The caller's own work in between (an audit
    row) overlaps Vault's. Any answer but a plain 200 (a missing or deleted version, a
    refused token, a standby's redirect, a dropped connection) is asked again through hvac,
    under its rules."""
    sent, started = _send("GET", path, query="" if version is None else f"?version={version}")

    def answer() -> VaultDocument | None:
        got = sent.answer() if sent is not None else None
        if got is None or got[0] != 200:
            return _read_hvac(path, version)
        try:
            document = _document(json.loads(got[1]))
        except (ValueError, KeyError, TypeError):
            return _read_hvac(path, version)
        observe_vault_call("read", "ok", time.monotonic() - started)
        return document

    return answer


@dataclass(frozen=True)
class VersionInfo:
    version: int
    created_time: str
    deleted: bool


def _metadata(path: str) -> dict[str, Any] | None:
    def call(vault_client: hvac.Client) -> Any:
        try:
            return vault_client.secrets.kv.v2.read_secret_metadata(
                path=path, mount_point=settings.VAULT_MOUNT
            )
        except hvac.exceptions.InvalidPath:
            return None

    response = _call("read metadata of", path, call)
    return None if response is None else dict(response["data"])


def versions(path: str) -> list[VersionInfo]:
    """The versions Vault keeps of ``path``, newest first (empty when it does not exist)."""
    metadata = _metadata(path)
    if metadata is None:
        return []
    found = [
        VersionInfo(
            version=int(number),
            created_time=str(meta["created_time"]),
            deleted=bool(meta.get("deletion_time")) or bool(meta.get("destroyed")),
        )
        for number, meta in metadata["versions"].items()
    ]
    return sorted(found, key=lambda v: v.version, reverse=True)


@dataclass(frozen=True)
class Written:
    """A version Vault accepted, and Vault's time for it (the one clock of ``updatedAt``)."""

    version: int
    created_at: datetime


def write(path: str, data: dict[str, Any], *, cas: int) -> Written:
    """Write ``data`` if the current version is ``cas`` (0: must not exist).

    A write that failed in transit (the active node died, an election is under way) may
    still have been committed. Before trying again, the current version is read: version
    ``cas + 1`` holding exactly ``data`` is this write, landed; version ``cas`` means it did
    not land and is tried again; anything else is a lost race (``CasMismatchError``). So a
    write is never applied twice, and never reported failed when it landed, as long as
    Vault answers within ``VAULT_RETRY_SECONDS``.

    The first attempt goes out over ``vault_transport.send``; anything but a 200 answer is
    left to hvac, after the check whether it landed when it may have."""
    return write_later(path, data, cas=cas)()


def write_later(path: str, data: dict[str, Any], *, cas: int) -> Callable[[], Written]:
    """``write`` in two halves: the request goes out now, and the function returned reads
    the answer (what ``write`` returns or raises). Until it is called, the caller does not
    know whether the write landed; it must call it."""
    sent, started = _send("POST", path, {"data": data, "options": {"cas": cas}})

    def answer() -> Written:
        got = sent.answer() if sent is not None else None
        if got is not None and got[0] == 200:
            try:
                meta = json.loads(got[1])["data"]
                written = Written(
                    version=int(meta["version"]),
                    created_at=parse_time(str(meta["created_time"])),
                )
            except (ValueError, KeyError, TypeError):
                pass  # a 200 that is not a KV v2 answer: ask whether the write landed
            else:
                observe_vault_call("write", "ok", time.monotonic() - started)
                return written
        elif sent is None or (got is not None and got[0] < 500):
            # Not sent, or refused (a lost check-and-set race, a token to renew, a standby's
            # redirect): nothing was written; hvac's attempt tells which and acts on it.
            return _write(path, data, cas)
        landed = _landed(path, data, cas)
        if landed is not None:
            return landed
        return _write(path, data, cas)

    return answer


def _write(path: str, data: dict[str, Any], cas: int) -> Written:
    """``write`` through hvac, with the retry rules ``write`` describes."""
    deadline = time.monotonic() + _retry_bound()
    backoff = FIRST_BACKOFF
    logged_in_again = False
    while True:
        started = time.monotonic()
        try:
            with _vault_errors("write", path, final=False):
                response = client().secrets.kv.v2.create_or_update_secret(
                    path=path, secret=data, cas=cas, mount_point=settings.VAULT_MOUNT
                )
        except _Transient as exc:
            observe_vault_call("write", "transient", time.monotonic() - started)
            if time.monotonic() + backoff >= deadline:
                raise _unavailable("write", path, exc.cause) from None
            logger.warning(
                "vault write %s: %s; checking whether it landed",
                path,
                type(exc.cause).__name__,
            )
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
            find_active()
            landed = _landed(path, data, cas)
            if landed is not None:
                logger.info("vault write %s had landed as version %s", path, landed.version)
                return landed
            continue
        except _Refused as exc:
            observe_vault_call("write", "error", time.monotonic() - started)
            if not logged_in_again and _forget_login():
                logged_in_again = True
                continue  # a write Vault refused did not land
            raise _unavailable("write", path, exc.cause) from None
        observe_vault_call("write", "ok", time.monotonic() - started)
        meta = response["data"]
        return Written(
            version=int(meta["version"]), created_at=parse_time(str(meta["created_time"]))
        )


def _landed(path: str, data: dict[str, Any], cas: int) -> Written | None:
    """After a write of ``data`` with ``cas`` failed in transit: the version it created if
    it landed, None if it did not (the current version is still ``cas``); raise
    ``CasMismatchError`` when another write took its place."""
    metadata = _metadata(path)
    current = 0 if metadata is None else int(metadata.get("current_version") or 0)
    if current == cas:
        return None
    if current > cas:
        document = read(path, version=cas + 1)
        if document is not None and document.data == data:
            return Written(version=cas + 1, created_at=parse_time(document.created_time))
    raise CasMismatchError(path)


def destroy(path: str, version: int) -> None:
    """Destroy ``version`` of ``path`` for good (KV v2 destroy: its data is removed, its
    number stays in the metadata, marked destroyed)."""
    kv = client().secrets.kv.v2
    with _vault_errors("destroy", path):
        kv.destroy_secret_versions(path=path, versions=[version], mount_point=settings.VAULT_MOUNT)


def delete_all(path: str) -> None:
    """Remove every version and the metadata of ``path``."""
    _call(
        "delete",
        path,
        lambda vault_client: vault_client.secrets.kv.v2.delete_metadata_and_all_versions(
            path=path, mount_point=settings.VAULT_MOUNT
        ),
    )


def list_keys(path: str) -> list[str]:
    """Keys directly under ``path``; empty when there are none."""

    def call(vault_client: hvac.Client) -> Any:
        try:
            return vault_client.secrets.kv.v2.list_secrets(
                path=path, mount_point=settings.VAULT_MOUNT
            )
        except hvac.exceptions.InvalidPath:
            return None

    response = _call("list", path, call)
    return [] if response is None else list(response["data"]["keys"])


def health() -> tuple[bool, str]:
    """(ready, reason): Vault answers, is initialised, unsealed and has an active node
    (any configured node active, or a standby that forwards to one)."""
    reasons = []
    for address in [current_address(), *addresses()]:
        try:
            response = _session.get(
                f"{address}/v1/sys/health",
                params={"standbyok": "true"},
                timeout=settings.VAULT_TIMEOUT,
            )
        except requests.RequestException as exc:
            reasons.append(f"unreachable ({type(exc).__name__})")
            continue
        if response.status_code == 200:
            return True, "ok"
        if response.status_code == 503:
            reasons.append("sealed")
        elif response.status_code == 501:
            reasons.append("not initialised")
        else:
            reasons.append(f"status {response.status_code}")
        if len(addresses()) == 1:
            break
    return False, reasons[0]


def parse_time(value: str) -> datetime:
    """Vault's RFC 3339 timestamps carry nanoseconds; Python keeps microseconds."""
    head, dot, rest = value.rstrip("Z").partition(".")
    fraction = rest[:6] if dot else "0"
    return datetime.fromisoformat(f"{head}.{fraction.ljust(6, '0')}+00:00")
