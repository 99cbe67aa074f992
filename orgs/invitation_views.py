"""The organization's Invitations page (admins): invitations with their state, sent, resent
and revoked here, and the page that shows a new invitation's link once
(``orgs.invitation_links``)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from orgs import invitations
from orgs.forms import InvitationForm
from orgs.invitation_links import forget_link, read_link, show_link_once
from orgs.models import Invitation
from orgs.views import OrgView
from pipeline_secrets.core.errors import ConflictError
from pipeline_secrets.core.web import redirect_to, render_page


class InvitationsView(OrgView):
    """Invitations of the organization with their state; admins send, resend and revoke."""

    section = "invites"
    policy_actions = {"GET": "invitation.manage", "POST": "invitation.manage"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        return self.invites_response()

    def invites_response(self, status: int = 200, **extra: Any) -> HttpResponse:
        context = self.get_context_data(**extra)
        context.setdefault("form", InvitationForm())
        context["invitations"] = Invitation.objects.for_org(self.organization).select_related(
            "invitee"
        )
        response = render_page(self.request, "orgs/invites.html", context)
        response.status_code = status
        return response

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        form = InvitationForm(request.POST)
        duplicate = None
        if form.is_valid():
            try:
                invitation, raw = invitations.invitation_create(
                    actor=self.user,
                    organization=self.organization,
                    base_url=request.build_absolute_uri("/"),
                    **form.cleaned_data,
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            except invitations.DuplicateInvitation as exc:
                form.add_error("email", exc.detail)
                duplicate = exc.invitation
            else:
                messages.success(request, f"Sent an invitation to {invitation.email}.")
                return show_link_once(request, self.user, invitation, raw)
        return self.invites_response(status=400, form=form, duplicate=duplicate)


class InvitationLinkView(InvitationsView):
    """A new invitation's link, shown once to the admin who made it (copy it, or let the
    mail carry it); a second look says it was shown and offers a resend."""

    policy_actions = {"GET": "invitation.manage"}
    http_method_names = ["get"]

    def get(self, request: HttpRequest, org_id: int, invitation_id: int) -> HttpResponse:  # type: ignore[override]
        invitation = invitations.invitation_get(
            organization=self.organization, invitation_id=invitation_id
        )
        link = read_link(request, self.user, invitation)
        context = self.get_context_data(invitation=invitation, link=link)
        response = render_page(request, "orgs/invite_link.html", context, private=True)
        forget_link(response, invitation)
        return response


class InvitationResendView(InvitationsView):
    """A new link for a pending or expired invitation; the old link stops working."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, invitation_id: int) -> HttpResponse:  # type: ignore[override]
        try:
            invitation, raw = invitations.invitation_resend(
                actor=self.user,
                organization=self.organization,
                invitation_id=invitation_id,
                base_url=request.build_absolute_uri("/"),
            )
        except ConflictError as exc:
            return self.invites_response(status=409, error=exc.detail)
        messages.success(
            request,
            f"Sent a new invitation link to {invitations.shown_email(invitation)}; "
            "the earlier link no longer works.",
        )
        return show_link_once(request, self.user, invitation, raw)


class InvitationRevokeView(InvitationsView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, invitation_id: int) -> HttpResponse:  # type: ignore[override]
        try:
            invitations.invitation_revoke(
                actor=self.user, organization=self.organization, invitation_id=invitation_id
            )
        except ConflictError as exc:
            return self.invites_response(status=409, error=exc.detail)
        messages.success(request, "Revoked the invitation; its link no longer works.")
        return redirect_to(request, self.org_url("dashboard:invites"))
