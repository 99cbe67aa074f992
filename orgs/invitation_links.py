"""A new invitation's link, shown once to the admin who made it.

A link's token exists only once (its hash is kept): it is handed from the POST that made it
to the link page in a short-lived cookie, sealed for this invitation and this admin (and the
current token's hash) and scoped to that page's path, deleted when the page reads it. The
session, the cache and the database never hold it; reloading the link page says it was
already shown, and never sends or resends anything.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from orgs import invitations
from orgs.models import Invitation, Organization, User
from pipeline_secrets.core import sealing
from pipeline_secrets.core.web import redirect_to

LINK_COOKIE = "invitation_link"
LINK_PURPOSE = "invitation link"
LINK_SECONDS = 300


def link_page_path(organization: Organization, invitation: Invitation) -> str:
    return reverse("dashboard:invite-link", args=[organization.pk, invitation.pk])


def _bound(invitation: Invitation, user: User) -> str:
    # The current token's hash: after a resend, an older cookie no longer opens.
    return f"{invitation.pk}:{user.pk}:{invitation.token_hash}"


def show_link_once(
    request: HttpRequest, user: User, invitation: Invitation, raw: str
) -> HttpResponse:
    """Redirect to the link page of ``invitation``, handing it the raw token ``raw``."""
    path = link_page_path(invitation.organization, invitation)
    response = redirect_to(request, path)
    sealed = sealing.seal(raw, purpose=LINK_PURPOSE, bound_to=_bound(invitation, user))
    response.set_cookie(
        LINK_COOKIE,
        sealed,
        max_age=LINK_SECONDS,
        path=path,
        secure=settings.SECURE_COOKIES,
        httponly=True,
        samesite="Strict",
    )
    return response


def read_link(request: HttpRequest, user: User, invitation: Invitation) -> str:
    """The link the cookie hands over, or "" (no cookie, already read, resent since)."""
    sealed = request.COOKIES.get(LINK_COOKIE, "")
    if not sealed or invitation.state != Invitation.State.PENDING:
        return ""
    try:
        raw = sealing.unseal(sealed, purpose=LINK_PURPOSE, bound_to=_bound(invitation, user))
    except sealing.Unsealable:
        return ""
    if invitations.invitation_hash(raw) != invitation.token_hash:
        return ""
    return invitations.invitation_link(invitation, raw, request.build_absolute_uri("/"))


def forget_link(response: HttpResponse, invitation: Invitation) -> None:
    """Delete the hand-over cookie: the link page shows the link once."""
    path = link_page_path(invitation.organization, invitation)
    response.delete_cookie(LINK_COOKIE, path=path, samesite="Strict")
