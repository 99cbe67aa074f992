"""Calls to Vault with the app's client: retried on transient failures, logged in again
once when Vault refuses the token, and sorted into the two exceptions callers see:
``VaultUnavailableError`` (sealed, unreachable, 5xx; a 503 naming Vault) or
``CasMismatchError`` (a check-and-set write lost a race). Messages carry paths, never
values."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import hvac
import hvac.exceptions
import requests
from django.conf import settings

from pipeline_secrets.core.errors import VaultUnavailableError
from pipeline_secrets.core.metrics import observe_vault_call
from secrets_app.vault import auth
from secrets_app.vault.transport import current_address, find_active, hvac_client

logger = logging.getLogger(__name__)

T = TypeVar("T")


class CasMismatchError(Exception):
    """The version given for check-and-set is not the current one."""


_clients: dict[tuple[str, str, int], hvac.Client] = {}


def client() -> hvac.Client:
    """A client for the active Vault node, reused while address and token stay the same.

    A static token is renewed on use once less than half of its TTL is left
    (``auth.renew_if_due``); a login token is replaced by a new login instead."""
    key = (current_address(), auth.token(), settings.VAULT_TIMEOUT)
    cached = _clients.get(key)
    if cached is None:
        if len(_clients) > 8:
            _clients.clear()
        cached = hvac_client(key[0], key[1], key[2])
        _clients[key] = cached
    if auth.method() == "token" and auth.renewal_due(key[1]):
        auth.renew_if_due(cached, key[1])
    return cached


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


def retry_bound() -> float:
    """``VAULT_RETRY_SECONDS``: how long transient failures are retried."""
    return float(getattr(settings, "VAULT_RETRY_SECONDS", 10))


class Transient(Exception):
    """A failure the call may be retried after (``TRANSIENT``)."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


class Refused(Exception):
    """Vault refused the token (403): a login token is replaced and the call tried again."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


def unavailable(action: str, path: str, exc: Exception) -> VaultUnavailableError:
    """The caller-facing error for a failure that outlasted the retries."""
    retry_after = max(1, int(retry_bound() / 2) or 1)
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
def vault_errors(action: str, path: str, *, final: bool = True) -> Iterator[None]:
    """Sort hvac and transport failures: CAS conflicts, transient failures (``Transient``
    unless ``final``), refusals (``Refused`` unless ``final``) and the rest
    (``VaultUnavailableError``)."""
    try:
        yield
    except hvac.exceptions.InvalidRequest as exc:
        if "check-and-set" in str(exc):
            raise CasMismatchError(path) from None
        logger.error("vault %s %s rejected: %s", action, path, type(exc).__name__)
        raise VaultUnavailableError(f"Vault rejected {action} of {path}.") from None
    except hvac.exceptions.Forbidden as exc:
        if final:
            raise unavailable(action, path, exc) from None
        raise Refused(exc) from None
    except TRANSIENT as exc:
        if final:
            raise unavailable(action, path, exc) from None
        raise Transient(exc) from None
    except (hvac.exceptions.VaultError, requests.RequestException) as exc:
        raise unavailable(action, path, exc) from None


class Backoff:
    """The waits between tries of one call, until ``VAULT_RETRY_SECONDS`` have passed."""

    def __init__(self) -> None:
        self.deadline = time.monotonic() + retry_bound()
        self.wait = FIRST_BACKOFF
        self.logged_in_again = False

    def spent(self) -> bool:
        """Whether the next try would start past the deadline."""
        return time.monotonic() + self.wait >= self.deadline

    def sleep(self) -> None:
        """Wait before the next try, and look for the active node meanwhile chosen."""
        time.sleep(self.wait)
        self.wait = min(self.wait * 2, MAX_BACKOFF)
        find_active()

    def log_in_again(self, action: str, path: str, exc: Refused) -> None:
        """Replace a refused login token once; raise when that is not possible."""
        if self.logged_in_again or not auth.forget_login():
            raise unavailable(action, path, exc.cause) from None
        self.logged_in_again = True


def call(action: str, path: str, work: Callable[[hvac.Client], T]) -> T:
    """``work(client)``, tried again on transient failures (after looking for the active
    node) until ``VAULT_RETRY_SECONDS`` have passed; a token Vault refuses is replaced by a
    new login once. Only for calls that are safe to repeat: reads, deletes, log-ins (a
    check-and-set write looks whether it landed before it repeats: ``kv.write``)."""
    backoff = Backoff()
    first = True
    while True:
        started = time.monotonic()
        outcome = "error"
        try:
            with vault_errors(action, path, final=False):
                answer = work(client())
            outcome = "ok"
            return answer
        except Transient as exc:
            if backoff.spent():
                raise unavailable(action, path, exc.cause) from None
            outcome = "transient"
            if first:
                logger.warning(
                    "vault %s %s: %s; retrying for up to %ss",
                    action,
                    path,
                    type(exc.cause).__name__,
                    f"{retry_bound():g}",
                )
            first = False
            backoff.sleep()
        except Refused as exc:
            backoff.log_in_again(action, path, exc)
        finally:
            observe_vault_call(action, outcome, time.monotonic() - started)


def keep_token_alive() -> None:
    """Renew the app's token if it is due: periodic jobs call this, so an idle server's
    token outlives its period too. Never raises for a Vault that is down."""
    try:
        call("look up token", "-", lambda vault_client: None)
    except VaultUnavailableError as exc:
        logger.warning("vault token check skipped: %s", exc)
