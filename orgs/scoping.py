"""Resolving the organization of a request, once, together with the caller's role.

Every view and API view that works inside an organization goes through ``resolve_membership``:
a caller who is not a member gets the same 404 as for an organization that does not exist,
and a role too weak for the action gets a 403.

A request authenticated by a limited API token is held to its limits here, and only here: an
organization outside the token's limit answers like one the caller is not in, and the role of
the resolved membership is lowered to the token's maximum. The lowered role lives on the
in-memory membership only (never saved), so every later role check sees the effective role.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from rest_framework.request import Request
from rest_framework.views import APIView

from orgs import policy
from orgs.models import ApiToken, Membership, Organization, Role, User
from pipeline_secrets.core.errors import NotFoundError

ORG_NOT_FOUND = "Organization not found."


def request_token(request: Request) -> ApiToken | None:
    """The API token that authenticated ``request``, or None for a signed-in session."""
    token = getattr(request, "auth", None)
    return token if isinstance(token, ApiToken) else None


def within_token_limits(membership: Membership, token: ApiToken | None) -> bool:
    """Whether ``token`` may act in the membership's organization at all."""
    return token is None or token.organization_id in (None, membership.organization_id)


def cap_to_token(membership: Membership, token: ApiToken | None) -> Membership:
    """The membership with its role lowered to the token's maximum (in memory, never saved).
    The cap stays on it (``token_cap``) so that a temporary grant cannot lift it further."""
    if token is not None:
        membership.role = Role.capped(membership.role, token.max_role)
        membership.token_cap = token.max_role
    return membership


def resolve_membership(
    *, user: User, org_id: int | str, token: ApiToken | None = None
) -> Membership:
    """The caller's membership of the org, or NotFoundError whether or not the org exists.

    With a ``token``, an org outside its limit is not found either, and the role is capped.
    """
    try:
        org_pk = int(org_id)
    except (TypeError, ValueError):
        raise NotFoundError(ORG_NOT_FOUND) from None
    if token is not None and token.organization_id not in (None, org_pk):
        raise NotFoundError(ORG_NOT_FOUND)
    known = token.membership_of if token is not None else None
    if known is not None and known[0] == org_pk and token is not None and token.user_id == user.pk:
        membership = known[1]  # read when the token was authenticated
        token.membership_of = None  # once: a later call asks the database again
    else:
        membership = (
            Membership.objects.select_related("organization")
            .filter(user=user, organization_id=org_pk)
            .order_by()
            .first()
        )
    if membership is None:
        raise NotFoundError(ORG_NOT_FOUND)
    return cap_to_token(membership, token)


def memberships_within_token_limits(
    memberships: Iterable[Membership], token: ApiToken | None
) -> list[Membership]:
    """The memberships ``token`` may act in, each with its role capped to the token's."""
    return [cap_to_token(m, token) for m in memberships if within_token_limits(m, token)]


def require_unlimited_token(request: Request, action: str) -> None:
    """PermissionDenied for a limited token: ``action`` would reach beyond its limits."""
    token = request_token(request)
    if token is not None and token.is_limited:
        raise PermissionDenied(
            f"This API token is limited to an organization or a role, so it cannot {action}; "
            "use an unlimited token or the dashboard."
        )


def actor(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def require_role(membership: Membership, needed: str) -> None:
    if not Role.allows(membership.role, needed):
        raise PermissionDenied(
            f"This needs the {needed} role in {membership.organization.name}; "
            f"you are {membership.role}."
        )


def route_action(actions: dict[str, str], method: str | None) -> str | None:
    """The policy action a route performs for ``method`` (HEAD is a GET; OPTIONS only shows
    what a route accepts, so it needs what seeing the organization needs)."""
    method = (method or "").upper()
    if method == "HEAD":
        method = "GET"
    if method == "OPTIONS":
        return "org.view"
    return actions.get(method)


def serves(view: Any, method: str | None) -> bool:
    """Whether ``view`` has a handler for ``method`` (otherwise the answer is a 405)."""
    name = (method or "").lower()
    return name in view.http_method_names and hasattr(view, name)


def require_route(
    view: Any, membership: Membership, method: str | None, path: dict[str, Any] | None = None
) -> None:
    """Ask the policy about the route's action; a method the view serves with no row in its
    ``policy_actions`` is refused (a route the policy table does not know is never open).
    ``path``: the URL's arguments (a temporary grant on the secret they name opens the gate)."""
    if not serves(view, method):
        return  # the view answers 405
    action = route_action(view.policy_actions, method)
    if action is None:
        raise PermissionDenied("This method has no row in the policy table.")
    if not policy.allows_route(membership, action, path or {}):
        policy.require(membership, action)


class OrgScopedAPIView(APIView):
    """Base for API views under ``/orgs/{orgId}/``.

    ``policy_actions`` maps each HTTP method the view serves to the policy action it performs
    (``orgs.policy.ACTIONS``); the policy decides who may. After ``initial`` runs,
    ``self.organization`` and ``self.membership`` are set.
    """

    policy_actions: dict[str, str] = {}
    organization: Organization
    membership: Membership

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        user = request.user
        assert isinstance(user, User)
        self.membership = resolve_membership(
            user=user, org_id=kwargs["org_id"], token=request_token(request)
        )
        self.organization = self.membership.organization
        require_route(self, self.membership, request.method, kwargs)

    def allows(self, action: str, obj: Any = None) -> bool:
        return policy.allows(self.membership, action, obj)


class OrgScopedViewMixin(LoginRequiredMixin):
    """HTML twin of ``OrgScopedAPIView``: resolves ``self.organization`` from ``org_id`` and
    asks the policy about the action ``policy_actions`` names for the request's method."""

    policy_actions: dict[str, str] = {}
    organization: Organization
    membership: Membership

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        from django.http import Http404

        try:
            self.membership = resolve_membership(
                user=request.user,  # type: ignore[arg-type]
                org_id=kwargs["org_id"],
            )
        except NotFoundError as exc:
            raise Http404(exc.detail) from exc
        self.organization = self.membership.organization
        require_route(self, self.membership, request.method, kwargs)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        context["organization"] = self.organization
        context["membership"] = self.membership
        return context
