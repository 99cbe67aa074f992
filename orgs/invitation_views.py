"""The organization's Invitations page (admins): invitations with their state, sent and
revoked here."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from orgs import invitations
from orgs.forms import InvitationForm
from orgs.models import Invitation
from orgs.views import OrgView
from pipeline_secrets.core.errors import ConflictError
from pipeline_secrets.core.web import render_page

# --------------------------------------------------------------------------- invitations


class InvitationsView(OrgView):
    """Invitations of the organization with their state; admins send and revoke them."""

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
        if form.is_valid():
            try:
                invitation, _ = invitations.invitation_create(
                    actor=self.user,
                    organization=self.organization,
                    base_url=request.build_absolute_uri("/"),
                    **form.cleaned_data,
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            except ConflictError as exc:
                form.add_error("email", exc.detail)
            else:
                messages.success(request, f"Sent an invitation to {invitation.email}.")
                return redirect(self.org_url("dashboard:invites"))
        return self.invites_response(status=400, form=form)


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
        return redirect(self.org_url("dashboard:invites"))
