"""Who may call an API view beyond being signed in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions
from rest_framework.request import Request

from pipeline_secrets.core.api.schema import ProblemSerializer

if TYPE_CHECKING:
    from rest_framework.views import APIView


class SignedInSessionOnly(permissions.BasePermission):
    """Allows a signed-in session only: a request authenticated by an API token gets a 403.

    Managing tokens with a token would let a short-lived or limited token mint one that
    never expires or has no limits, and revoke the others.
    """

    message = (
        "API tokens cannot list, create or revoke tokens; "
        "sign in to the dashboard (API tokens page) to manage them."
    )

    def has_permission(self, request: Request, view: APIView) -> bool:
        # A session leaves request.auth empty; any bearer token (ours or the sign-in
        # provider's) sets it.
        return bool(request.user and request.user.is_authenticated) and request.auth is None


# How an operation that refuses API tokens documents it.
SESSION_ONLY = " Needs a signed-in session: a request with an API token gets a 403."
TOKEN_REFUSED = {
    403: OpenApiResponse(
        ProblemSerializer, description="The request was authenticated by an API token."
    )
}
