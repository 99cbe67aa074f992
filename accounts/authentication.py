"""Bearer-token authentication for the API: ``Authorization: Bearer <token>``."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts import providers
from orgs.api.permissions import SignedInSessionOnly
from orgs.models import ApiToken, Membership, User
from orgs.services import hash_token

if TYPE_CHECKING:
    from drf_spectacular.openapi import AutoSchema

# last_used_at is bookkeeping: writing it on every call would double the cost of a read.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _url_org_id(request: Request) -> int | None:
    """The organization id in the URL of ``request`` (``/orgs/{orgId}/...``), if any."""
    match = request.resolver_match
    raw = match.kwargs.get("org_id") if match is not None else None
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def token_lookup(raw: str, org_id: int | None) -> ApiToken | None:
    """The token ``raw`` with its user, and (as ``token.membership_of``) the user's
    membership of ``org_id`` with its organization, or None; two statements at most (one
    when no organization is named, or the token is unknown). None for an unknown token."""
    token = ApiToken.objects.select_related("user").filter(token_hash=hash_token(raw)).first()
    if token is None:
        return None
    membership = None
    if org_id is not None:
        membership = (
            Membership.objects.select_related("organization")
            .filter(user_id=token.user_id, organization_id=org_id)
            .order_by()
            .first()
        )
        if membership is not None:
            membership.user = token.user
    token.membership_of = (org_id, membership)
    return token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates a personal API token: ``request.user`` is its user, ``request.auth`` the
    token. The token acts as its user within the token's limits, which ``orgs.scoping``
    enforces; token management refuses tokens altogether (``SignedInSessionOnly``)."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != self.keyword.lower():
            return None
        raw = raw.strip()
        if not raw:
            raise exceptions.AuthenticationFailed("The Authorization header has no token.")
        token = token_lookup(raw, _url_org_id(request))
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This token has been revoked.")
        now = timezone.now()
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed("This token has expired.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token's user is inactive.")
        try:  # a token minted under a GitHub/LDAP membership: at most one check per interval
            providers.check_token(token, now)
        except providers.ProviderRefused as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            # Conditional: of the workers that see the same stale time, one writes.
            ApiToken.objects.filter(pk=token.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
            ).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents the bearer token in the OpenAPI schema."""

    target_class = "accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_requirement(
        self, auto_schema: AutoSchema
    ) -> dict[str, list[Any]] | list[dict[str, list[Any]]]:
        permissions_ = auto_schema.view.get_permissions()
        if any(isinstance(p, SignedInSessionOnly) for p in permissions_):
            return []  # the operation refuses tokens: only the session cookie is documented
        return {self.name: []}

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer"
        )
