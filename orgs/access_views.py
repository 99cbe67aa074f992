"""Dashboard pages about who joins an organization and who sees what of a person:
invitations, the GitHub link and directory-group mappings (``orgs.consent`` decides which
the operator allows), and each user's own security log."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from orgs import invitations, services
from orgs.forms import GitHubLinkForm, GroupMappingForm, InvitationForm
from orgs.models import GitHubLink, GroupMapping, Invitation
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


# --------------------------------------------------------------------------- sign-in settings


class SignInSettingsView(OrgView):
    """The organization's GitHub link and LDAP group mappings (admins)."""

    section = "settings"
    policy_actions = {"GET": "signin.manage", "POST": "signin.manage"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        return self.settings_response()

    def settings_response(self, status: int = 200, **extra: Any) -> HttpResponse:
        link = GitHubLink.objects.filter(organization=self.organization).first()
        initial = (
            {
                "github_org": link.github_org,
                "default_role": link.default_role,
                "team_roles": "\n".join(f"{k}={v}" for k, v in link.team_roles.items()),
            }
            if link
            else {}
        )
        context = self.get_context_data(**extra)
        context.setdefault("github_form", GitHubLinkForm(initial=initial))
        context.setdefault("group_form", GroupMappingForm())
        context["github_link"] = link
        context["mappings"] = GroupMapping.objects.for_org(self.organization)
        response = render_page(self.request, "orgs/signin_settings.html", context)
        response.status_code = status
        return response


class GitHubLinkView(SignInSettingsView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        form = GitHubLinkForm(request.POST)
        if form.is_valid():
            try:
                services.github_link_set(
                    actor=self.user, organization=self.organization, **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Saved the GitHub link.")
                return redirect(self.org_url("dashboard:signin-settings"))
        return self.settings_response(status=400, github_form=form)


class GroupMappingView(SignInSettingsView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        form = GroupMappingForm(request.POST)
        if form.is_valid():
            try:
                services.group_mapping_set(
                    actor=self.user, organization=self.organization, **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Saved the group mapping.")
                return redirect(self.org_url("dashboard:signin-settings"))
        return self.settings_response(status=400, group_form=form)


class GroupMappingDeleteView(SignInSettingsView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, mapping_id: int) -> HttpResponse:  # type: ignore[override]
        services.group_mapping_delete(
            actor=self.user, organization=self.organization, mapping_id=mapping_id
        )
        messages.success(request, "Removed the group mapping.")
        return redirect(self.org_url("dashboard:signin-settings"))
