"""The OpenID Connect provider's signing keys, and local verification of its JWTs.

The key set is read from the JWKS endpoint of the issuer's discovery document (which only
the operator's environment names), kept in memory, and read again only for a key id it does
not hold, at most once per ``OIDC_JWKS_REFRESH_SECONDS``: a stream of bearers with made-up
key ids costs no more than one fetch per window. Verifying a token needs no call at all.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import jwt
import requests
from django.conf import settings

logger = logging.getLogger(__name__)

ALGORITHMS = ["RS256"]


class InvalidToken(Exception):
    """Not a JWT of this issuer for this client (bad signature, claims or key)."""


class KeySet:
    """The keys of one JWKS endpoint; thread-safe, shared by the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._url = ""
        self._keys: dict[str, Any] = {}
        self._fetched = float("-inf")

    def _fetch(self, url: str) -> None:
        self._fetched = time.monotonic()
        try:
            response = requests.get(url, timeout=settings.OIDC_TIMEOUT, allow_redirects=False)
            response.raise_for_status()
            found = jwt.PyJWKSet.from_dict(response.json())
        except (requests.RequestException, ValueError, jwt.PyJWTError) as exc:
            logger.warning("OIDC signing keys not read from %s: %s", url, type(exc).__name__)
            return
        self._keys = {k.key_id or "": k for k in found.keys}

    def refresh(self, url: str) -> None:
        """Read the key set now (at start-up, when the provider is configured)."""
        with self._lock:
            self._url = url
            self._fetch(url)

    def key(self, url: str, kid: str) -> Any | None:
        """The verification key ``kid`` of ``url``'s key set, fetching the set again when
        ``kid`` is unknown and the last fetch is older than the refresh window."""
        with self._lock:
            if url != self._url:
                self._url, self._keys, self._fetched = url, {}, float("-inf")
            found = self._keys.get(kid)
            window = settings.OIDC_JWKS_REFRESH_SECONDS
            if found is None and time.monotonic() - self._fetched >= window:
                self._fetch(url)
                found = self._keys.get(kid)
            return found.key if found is not None else None


KEYS = KeySet()


def verify(raw: str) -> dict[str, Any]:
    """The claims of ``raw`` once its signature (RS256, a key of the issuer's JWKS), issuer,
    audience (this client) and expiry check out; InvalidToken otherwise."""
    try:
        header = jwt.get_unverified_header(raw)
    except jwt.PyJWTError:
        raise InvalidToken("not a JWT") from None
    if header.get("alg") not in ALGORITHMS:
        raise InvalidToken("unexpected algorithm")
    key = KEYS.key(settings.OIDC_OP_JWKS_ENDPOINT, str(header.get("kid") or ""))
    if key is None:
        raise InvalidToken("unknown signing key")
    try:
        claims: dict[str, Any] = jwt.decode(
            raw,
            key=key,
            algorithms=ALGORITHMS,
            audience=settings.OIDC_RP_CLIENT_ID,
            issuer=settings.OIDC_ISSUER,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from None
    return claims
