"""LDAP/Active Directory sign-in through Dex, an OpenID Connect provider.

mozilla-django-oidc runs the authorization-code flow (with PKCE) and verifies the ID token's
signature and nonce; ``DexBackend`` turns the verified claims into a user. A user is found by
(issuer, subject), never by email address, so a directory entry cannot take over an account
whose address it claims. A signed-in user who completes the flow links the identity to their
own account instead. The ``groups`` claim is applied to memberships at every interactive
sign-in (``accounts.sync.apply_groups``), and only there.

The endpoints come from the issuer's discovery document (``configure``), which only the
operator's environment names: no request can point the server at another address.

``DexBearerAuthentication`` accepts a Dex access token (or ID token) as
``Authorization: Bearer``, verified here against the issuer's signing keys (``accounts.jwks``:
signature, issuer, audience = this client, expiry) with no call to the provider. It acts as
the account an interactive sign-in linked to that identity, with the memberships that sign-in
left: the groups a bearer carries are never applied, so an old token cannot bring back a
group the directory has since removed.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts import jwks, signin, sync
from accounts.authentication import BearerTokenScheme
from accounts.models import OidcIdentity
from orgs import reporting
from orgs.models import Source, User

logger = logging.getLogger(__name__)

_configured = threading.Lock()
ENDPOINTS = {
    "authorization_endpoint": "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "token_endpoint": "OIDC_OP_TOKEN_ENDPOINT",
    "userinfo_endpoint": "OIDC_OP_USER_ENDPOINT",
    "jwks_uri": "OIDC_OP_JWKS_ENDPOINT",
}


class OidcUnavailable(RuntimeError):
    """The provider's discovery document could not be read."""


def configure(issuer: str | None = None) -> None:
    """Read the discovery document of ``issuer`` (default: ``OIDC_ISSUER``) into the
    settings mozilla-django-oidc uses. OidcUnavailable when it cannot be read or is not
    the issuer's own."""
    issuer = (issuer or settings.OIDC_ISSUER).rstrip("/")
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT, allow_redirects=False)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise OidcUnavailable(f"cannot read {url}: {type(exc).__name__}") from None
    if document.get("issuer", "").rstrip("/") != issuer:
        raise OidcUnavailable(f"{url} names another issuer")
    missing = [key for key in ENDPOINTS if not document.get(key)]
    if missing:
        raise OidcUnavailable(f"{url} lacks {', '.join(missing)}")
    with _configured:
        settings.OIDC_ISSUER = issuer
        for key, name in ENDPOINTS.items():
            setattr(settings, name, document[key])
    jwks.KEYS.refresh(document["jwks_uri"])  # bearers are then verified with no fetch


def enabled() -> bool:
    """Whether LDAP sign-in is offered: an issuer and a client are configured."""
    return bool(settings.OIDC_ISSUER and settings.OIDC_RP_CLIENT_ID)


def ready() -> bool:
    """Whether the endpoints are known; tries discovery again when they are not yet."""
    if not enabled():
        return False
    if settings.OIDC_OP_AUTHORIZATION_ENDPOINT:
        return True
    try:
        configure()
    except OidcUnavailable as exc:
        logger.warning("LDAP sign-in unavailable: %s", exc)
        return False
    return True


def _unique_username(wanted: str) -> str:
    base = "".join(c for c in wanted if c.isalnum() or c in "._-")[:140] or "user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate


def user_for_claims(claims: dict[str, Any], *, link_to: User | None = None) -> tuple[User, str]:
    """The user of the identity (issuer, sub) in ``claims``, created on first sight, or linked
    to ``link_to`` (the signed-in user completing the flow) when it is new; and, when the
    account was just made under another name because the directory's name was taken here,
    that name ('' otherwise)."""
    subject = str(claims.get("sub") or "")
    if not subject:
        raise SuspiciousOperation("the provider's claims have no subject")
    issuer = settings.OIDC_ISSUER
    identity = (
        OidcIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    )
    if identity is not None:
        return identity.user, ""
    with transaction.atomic():
        wanted = ""
        if link_to is not None and link_to.is_authenticated:
            user = link_to
        else:
            wanted = str(claims.get("preferred_username") or claims.get("name") or "")
            if not wanted:
                wanted = str(claims.get("email") or "").partition("@")[0]
            user = signin.provider_user_create(username=_unique_username(wanted), claims=claims)
        try:
            with transaction.atomic():
                OidcIdentity.objects.create(user=user, issuer=issuer, subject=subject)
        except IntegrityError:  # the same identity signed in twice at once
            return OidcIdentity.objects.get(issuer=issuer, subject=subject).user, ""
    renamed = bool(wanted) and user.username.lower() != wanted.lower()
    reporting.audit(
        actor=user.username,
        action="identity.link",
        target_type="user",
        target_id=user.pk,
        target_name=user.username,
        purpose=Source.LDAP,
        # The directory's name was taken here by another account: say which it was.
        **({"username": wanted, "reason": "username taken"} if renamed else {}),
    )
    return user, wanted if renamed else ""


def groups_of(claims: dict[str, Any]) -> list[str]:
    groups = claims.get("groups") or []
    return [str(g) for g in groups] if isinstance(groups, list) else []


class DexBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend keyed by (issuer, subject), applying the groups claim."""

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        if request is None or not enabled() or "code" not in request.GET:
            return None
        return super().authenticate(request, **kwargs)  # type: ignore[no-any-return]

    def get_or_create_user(
        self, access_token: str, id_token: str | None, payload: dict[str, Any] | None
    ) -> User:
        claims = self.get_userinfo(access_token, id_token, payload)
        if payload:  # the verified ID token holds the groups even if userinfo does not
            claims = {**claims, **{k: v for k, v in payload.items() if k not in claims}}
        signed_in = getattr(self.request, "user", None)
        user, taken = user_for_claims(claims, link_to=signed_in if signed_in else None)
        sync.apply_groups(user=user, groups=groups_of(claims))
        signin.tell_new_directory_account(self.request, user, taken)
        return user

    def get_userinfo(
        self, access_token: str, id_token: str | None, payload: dict[str, Any] | None
    ) -> dict[str, Any]:
        response = requests.get(
            self.OIDC_OP_USER_ENDPOINT,
            headers={"Authorization": f"Bearer {access_token}"},
            verify=self.get_settings("OIDC_VERIFY_SSL", True),
            timeout=self.get_settings("OIDC_TIMEOUT", None),
            allow_redirects=False,
        )
        response.raise_for_status()
        claims: dict[str, Any] = response.json()
        return claims


class DexBearerAuthentication(authentication.BaseAuthentication):
    """A Dex access token or ID token as ``Authorization: Bearer``; the product's own
    ``pst_`` tokens are left to ``BearerTokenAuthentication``."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, str] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, raw = header.partition(" ")
        raw = raw.strip()
        if scheme.lower() != "bearer" or not raw or raw.startswith(settings.API_TOKEN_PREFIX):
            return None
        if raw.count(".") != 2 or not ready():
            return None  # not a JWT, or no provider: BearerTokenAuthentication refuses it
        try:
            claims = jwks.verify(raw)
        except jwks.InvalidToken:
            raise exceptions.AuthenticationFailed("Invalid or expired token.") from None
        identity = (
            OidcIdentity.objects.select_related("user")
            .filter(issuer=settings.OIDC_ISSUER, subject=str(claims["sub"]))
            .first()
        )
        if identity is None:
            raise exceptions.AuthenticationFailed(
                f"Sign in with {settings.OIDC_LABEL} once in the browser before using its tokens."
            )
        if not identity.user.is_active:
            raise exceptions.AuthenticationFailed("The token's user is inactive.")
        return identity.user, "oidc"

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class DexBearerScheme(BearerTokenScheme):
    """The sign-in provider's access token, documented as a scheme of its own."""

    target_class = "accounts.oidc.DexBearerAuthentication"
    name = "oidcBearerAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token (or ID token) from the LDAP sign-in provider.",
        }
