"""Bearer-token authentication for the API: ``Authorization: Bearer <token>``."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from orgs import providers
from orgs.api.permissions import SignedInSessionOnly
from orgs.models import ApiToken, Membership, Organization, User
from pipeline_secrets.core.api.rows import RowLoader, fetch_one, split, statement

if TYPE_CHECKING:
    from drf_spectacular.openapi import AutoSchema

# last_used_at is bookkeeping: writing it on every call would double the cost of a read.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


_TOKEN = RowLoader(ApiToken)
_USER = RowLoader(User)
_MEMBERSHIP = RowLoader(Membership)
_ORGANIZATION = RowLoader(Organization)


def _token_query() -> str:
    """One statement for the token, its user and the user's membership (with its
    organization) of the organization the URL names, if any."""
    t, u, m, o = _TOKEN, _USER, _MEMBERSHIP, _ORGANIZATION
    return (
        # Identifiers from the models' metadata only; every value is a bound parameter.
        f"SELECT {t.columns('t')}, {u.columns('u')}, {m.columns('m')}, {o.columns('o')} "  # noqa: S608
        f"FROM {t.table} t "
        f"INNER JOIN {u.table} u ON {u.column('u', 'id')} = {t.column('t', 'user')} "
        f"LEFT JOIN {m.table} m ON {m.column('m', 'user')} = {t.column('t', 'user')} "
        f"AND {m.column('m', 'organization')} = %s "
        f"LEFT JOIN {o.table} o ON {o.column('o', 'id')} = {m.column('m', 'organization')} "
        f"WHERE {t.column('t', 'token_hash')} = %s"
    )


def _url_org_id(request: Request) -> int | None:
    """The organization id in the URL of ``request`` (``/orgs/{orgId}/...``), if any."""
    match = getattr(request._request, "resolver_match", None)
    raw = match.kwargs.get("org_id") if match is not None else None
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def token_lookup(raw: str, org_id: int | None) -> ApiToken | None:
    """The token ``raw`` with its user loaded, and (as ``token.membership_of``) the user's
    membership of ``org_id`` or None, from one statement. None for an unknown token."""
    row = fetch_one(statement("token", _token_query), [org_id, hash_token(raw)])
    if row is None:
        return None
    token, user, membership, organization = split(row, _TOKEN, _USER, _MEMBERSHIP, _ORGANIZATION)
    ApiToken.user.field.set_cached_value(token, user)
    if membership is not None:
        Membership.user.field.set_cached_value(membership, user)
        Membership.organization.field.set_cached_value(membership, organization)
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

    target_class = "orgs.authentication.BearerTokenAuthentication"
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
