"""Response wrapping, the store's verbs for one-time handovers: a payload wrapped in a
single-use token with a TTL (``sys/wrapping/wrap``), unwrapped once by whoever holds the
token (``sys/wrapping/unwrap``, the token in the body), and revoked by its accessor
(``auth/token/revoke-accessor``). ``tools/devstack/openbao.py`` shows the policy the app's
token needs.

The wrapping token is returned to the caller and kept nowhere here; messages name paths,
never the token or the payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import hvac
import hvac.exceptions

from secrets_app.vault.calls import call

WRAP = "sys/wrapping/wrap"
UNWRAP = "sys/wrapping/unwrap"
REVOKE = "auth/token/revoke-accessor"


@dataclass(frozen=True)
class Wrapped:
    """A wrapping token, its accessor (which can revoke it, never unwrap it) and its TTL."""

    token: str
    accessor: str
    seconds: int

    def __repr__(self) -> str:  # the token never reaches a log through a repr
        return f"Wrapped(accessor={self.accessor!r}, seconds={self.seconds})"


def wrap(payload: dict[str, Any], seconds: int) -> Wrapped:
    """``payload`` wrapped for ``seconds``: Vault forgets it at the first unwrap or then."""

    def work(vault_client: hvac.Client) -> Any:
        return vault_client.sys.wrap(payload=payload, ttl=f"{seconds}s")

    answer = call("wrap", WRAP, work)
    info = answer["wrap_info"]
    return Wrapped(token=info["token"], accessor=info["accessor"], seconds=int(info["ttl"]))


def unwrap(token: str) -> dict[str, Any] | None:
    """The payload wrapped in ``token``, once; None when Vault no longer knows the token
    (unwrapped before, expired, revoked) or never did (mistyped). A try that fails in
    transit after Vault unwrapped is not repeated with success: the payload is gone, which
    is what a one-time token promises."""

    def work(vault_client: hvac.Client) -> Any:
        try:
            return vault_client.sys.unwrap(token=token)
        except hvac.exceptions.InvalidRequest:
            return None

    answer = call("unwrap", UNWRAP, work)
    if not isinstance(answer, dict):
        return None
    data = answer.get("data")
    return dict(data) if isinstance(data, dict) else None


def revoke(accessor: str) -> None:
    """Revoke the wrapping token with ``accessor``; one Vault no longer knows (unwrapped,
    expired, revoked before) is already as revoked as it gets."""

    def work(vault_client: hvac.Client) -> None:
        try:
            vault_client.auth.token.revoke_accessor(accessor)
        except hvac.exceptions.InvalidRequest:
            return None

    call("revoke", REVOKE, work)
