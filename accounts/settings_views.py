"""An organization's sign-in settings (admins): its GitHub link and its directory-group
mappings; ``orgs.consent`` decides which the operator allows."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts import github, services
from accounts.forms import GitHubLinkForm, GroupMappingForm
from accounts.models import GitHubLink, GroupMapping
from orgs.views import OrgView
from pipeline_secrets.core.web import render_page


def mapping_saved(mapping: GroupMapping, before: str | None) -> str:
    """What saving ``mapping`` did, its earlier role (``before``) included: re-mapping a
    group changes the role of everyone who came in through it."""
    if before is None:
        return (
            f"Mapped {mapping.group} to {mapping.role}: its people join with that role at "
            "their next LDAP sign-in."
        )
    if before == mapping.role:
        return f"{mapping.group} was already mapped to {mapping.role}; nothing changed."
    return (
        f"{mapping.group} now maps to {mapping.role} instead of {before}: members who came in "
        f"through it become {mapping.role} at their next LDAP sign-in."
    )


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
        context["github_enabled"] = github.enabled()
        context["mappings"] = GroupMapping.objects.for_org(self.organization)
        response = render_page(self.request, "accounts/signin_settings.html", context)
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
                return redirect(self.org_url("accounts:signin-settings"))
        return self.settings_response(status=400, github_form=form)


class GroupMappingView(SignInSettingsView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        form = GroupMappingForm(request.POST)
        if form.is_valid():
            group = form.cleaned_data["group"].strip()
            before = (
                GroupMapping.objects.for_org(self.organization)
                .filter(group=group)
                .values_list("role", flat=True)
                .first()
            )
            try:
                mapping = services.group_mapping_set(
                    actor=self.user, organization=self.organization, **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, mapping_saved(mapping, before))
                return redirect(self.org_url("accounts:signin-settings"))
        return self.settings_response(status=400, group_form=form)


class GroupMappingDeleteView(SignInSettingsView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, mapping_id: int) -> HttpResponse:  # type: ignore[override]
        services.group_mapping_delete(
            actor=self.user, organization=self.organization, mapping_id=mapping_id
        )
        messages.success(request, "Removed the group mapping.")
        return redirect(self.org_url("accounts:signin-settings"))
