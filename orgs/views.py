"""Dashboard pages for organizations, members and API tokens, and what every page shares.

Every page inside an organization is an ``OrgView``: ``OrgScopedViewMixin`` resolves the org
and the caller's role once, from the URL. A view answers an htmx request with the partial
its page includes (``templates/<app>/partials/_thing.html``) and any other request with the
full page. Vault being away is a friendly message, never a 500.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView

from orgs import activity, policy, selectors, services
from orgs.forms import (
    GitHubLinkForm,
    GroupMappingForm,
    InvitationForm,
    MemberAddForm,
    MemberRoleForm,
    OrganizationForm,
    TokenCreateForm,
)
from orgs.models import ROLE_RULES, GitHubLink, GroupMapping, Invitation, Role, User
from orgs.scoping import OrgScopedViewMixin
from pipeline_secrets.core.errors import (
    AppError,
    ConflictError,
    NotFoundError,
)
from pipeline_secrets.core.paging import keyset_page
from pipeline_secrets.core.web import (
    app_error,
    is_htmx,
    redirect_to,
    render_page,
    wants_partial,
)


def current_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


class DashboardView(TemplateView):
    """Base of every dashboard page: the header's org switcher, and errors made friendly."""

    section = ""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        except NotFoundError as exc:
            raise Http404(exc.detail) from exc
        except AppError as exc:
            return app_error(request, exc)

    @property
    def user(self) -> User:
        return current_user(self.request)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["memberships"] = selectors.organizations_for_user(user=self.user)
        context["section"] = self.section
        return context


class AccountView(LoginRequiredMixin, DashboardView):
    """A page of the signed-in user, outside any organization."""


class OrgView(OrgScopedViewMixin, DashboardView):
    """A page inside the organization named by the URL; outsiders get the 404 page."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["can_write"] = policy.allows(self.membership, "secret.values.write")
        context["is_admin"] = policy.allows(self.membership, "org.manage")
        return context

    def org_url(self, name: str, *args: Any) -> str:
        return reverse(name, args=[self.organization.pk, *args])


# --------------------------------------------------------------------------- organizations


class HomeView(AccountView):
    policy_audience = {"GET": policy.SIGNED_IN}
    template_name = "orgs/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["form"] = OrganizationForm()
        return context


class OrganizationCreateView(AccountView):
    policy_audience = {"GET": policy.ORG_CREATORS, "POST": policy.ORG_CREATORS}
    template_name = "orgs/org_form.html"

    def post(self, request: HttpRequest) -> HttpResponse:
        form = OrganizationForm(request.POST)
        if form.is_valid():
            try:
                org = services.organization_create(actor=self.user, name=form.cleaned_data["name"])
            except ValidationError as exc:
                form.add_service_errors(exc)
            except ConflictError as exc:
                form.add_error("name", exc.detail)
            else:
                messages.success(request, f"Created {org.name}. You are its admin.")
                return redirect_to(request, reverse("secrets:list", args=[org.pk]))
        return self.render_to_response(self.get_context_data(form=form))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("form", OrganizationForm())
        return super().get_context_data(**kwargs)


class OrganizationRootView(OrgView):
    policy_actions = {"GET": "org.view"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        return redirect("secrets:list", org_id=self.organization.pk)


# --------------------------------------------------------------------------- members


class MembersView(OrgView):
    """Members and their roles; admins add, change and remove them."""

    policy_actions = {"GET": "member.view"}

    section = "members"
    page = "orgs/members.html"
    partial = "orgs/partials/_members.html"

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        return self.members_response()

    def members_response(self, **extra: Any) -> HttpResponse:
        context = self.get_context_data(**extra)
        context["members"] = selectors.member_list(organization=self.organization)
        context["roles"] = Role.choices
        context["role_rules"] = [(label, ROLE_RULES[value]) for value, label in Role.choices]
        context.setdefault("add_form", MemberAddForm(organization=self.organization))
        return render_page(self.request, self.page, context, partial=self.partial)

    def done(self, notice: str) -> HttpResponse:
        if is_htmx(self.request):
            return self.members_response(notice=notice)
        messages.success(self.request, notice)
        return redirect(self.org_url("dashboard:members"))


class MemberAddView(MembersView):
    """Adds an existing account by username; accounts are never created here."""

    policy_actions = {"GET": "member.manage", "POST": "member.manage"}

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        form = MemberAddForm(request.POST, organization=self.organization)
        if form.is_valid():
            try:
                member = services.member_add(
                    actor=self.user,
                    organization=self.organization,
                    username=form.cleaned_data["username"].strip(),
                    role=form.cleaned_data["role"],
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            except ConflictError as exc:
                form.add_error("username", exc.detail)
            else:
                return self.done(f"Added {member.user.username} as {member.role}.")
        return self.members_response(add_form=form)


class MemberRoleView(MembersView):
    policy_actions = {"POST": "member.manage"}
    http_method_names = ["post"]  # inherits a page's GET, which cannot serve this URL

    def post(self, request: HttpRequest, org_id: int, user_id: int) -> HttpResponse:
        form = MemberRoleForm(request.POST, organization=self.organization)
        if not form.is_valid():
            return self.members_response(error="Choose one of the roles.")
        try:
            member = services.member_change_role(
                actor=self.user,
                organization=self.organization,
                user_id=user_id,
                role=form.cleaned_data["role"],
            )
        except ConflictError as exc:
            return self.members_response(error=exc.detail)
        self.membership.refresh_from_db()
        return self.done(f"{member.user.username} is now {member.role}.")


class MemberRemoveView(MembersView):
    policy_actions = {"POST": "member.manage"}
    http_method_names = ["post"]  # inherits a page's GET, which cannot serve this URL

    def post(self, request: HttpRequest, org_id: int, user_id: int) -> HttpResponse:
        member = selectors.member_get(organization=self.organization, user_id=user_id)
        try:
            services.member_remove(actor=self.user, organization=self.organization, user_id=user_id)
        except ConflictError as exc:
            return self.members_response(error=exc.detail)
        if member.user_id == self.user.pk:
            messages.success(request, f"You left {self.organization.name}.")
            return redirect_to(request, reverse("dashboard:home"))
        return self.done(f"Removed {member.user.username} from {self.organization.name}.")


# --------------------------------------------------------------------------- API tokens


class TokensView(AccountView):
    """The user's API tokens: a new token's value is shown once, in the answer to its POST."""

    policy_audience = {"GET": policy.SIGNED_IN, "POST": policy.SIGNED_IN}

    section = "tokens"
    page = "orgs/tokens.html"
    partial = "orgs/partials/_tokens.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.tokens_response()

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.token_form(request.POST)
        if form.is_valid():
            try:
                token, raw = services.token_create(
                    user=self.user,
                    name=form.cleaned_data["name"],
                    expires_at=form.expires_at(),
                    organization_id=form.cleaned_data["organization"],
                    max_role=form.cleaned_data["max_role"],
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                return self.tokens_response(new_token=token, raw_token=raw)
        return self.tokens_response(form=form)

    def token_form(self, data: Any = None) -> TokenCreateForm:
        memberships = selectors.organizations_for_user(user=self.user)
        return TokenCreateForm(data, memberships=memberships)

    def tokens_response(self, **extra: Any) -> HttpResponse:
        context = self.get_context_data(**extra)
        context.setdefault("form", self.token_form())
        context["tokens"] = selectors.token_list(user=self.user).select_related("organization")
        private = "raw_token" in extra
        return render_page(self.request, self.page, context, partial=self.partial, private=private)


class TokenRevokeView(TokensView):
    policy_audience = {"POST": policy.SIGNED_IN}
    http_method_names = ["post"]  # inherits a page's GET, which cannot serve this URL

    def post(self, request: HttpRequest, token_id: int) -> HttpResponse:  # type: ignore[override]
        token = services.token_revoke(user=self.user, token_id=token_id)
        notice = f"Revoked {token.name}; it no longer works."
        if is_htmx(request):
            return self.tokens_response(notice=notice)
        messages.success(request, notice)
        return redirect("dashboard:tokens")


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
        context["invitations"] = Invitation.objects.for_org(self.organization)
        response = render_page(self.request, "orgs/invites.html", context)
        response.status_code = status
        return response

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        form = InvitationForm(request.POST)
        if form.is_valid():
            try:
                invitation, _ = services.invitation_create(
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
            services.invitation_revoke(
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


# --------------------------------------------------------------------------- activity

ACTIVITY_PAGE = 50


class ActivityView(OrgView):
    """The organization's audit trail, newest first, filtered by kind, actor, target and
    dates (a bookmarkable GET); ``?export=csv`` or ``json`` downloads the filtered trail
    (admins)."""

    section = "activity"
    policy_actions = {"GET": "activity.view"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        filters = activity.ActivityFilters.from_query(request.GET)
        kind = request.GET.get("export", "")
        if kind in ("csv", "json") and not filters.errors:
            name = f"activity-org-{self.organization.pk}-{timezone.now():%Y%m%d-%H%M%S}"
            return activity.export(  # type: ignore[return-value]
                filters.events(self.organization), kind, name
            )
        page: list[Any] = []
        older = None
        if not filters.errors:
            before = request.GET.get("before", "")
            page, older = keyset_page(
                filters.events(self.organization),
                before=int(before) if before.isdigit() and len(before) < 19 else None,
                limit=ACTIVITY_PAGE,
            )
        context = self.get_context_data(
            rows=activity.rows(page, self.organization),
            events=page,
            older=older,
            filters=filters,
            kind=filters.kind,
            kinds=activity.ACTIVITY_KINDS,
            actors=activity.actors(self.organization),
            time_zone=timezone.get_current_timezone_name(),
        )
        return render_page(
            request,
            "orgs/activity.html",
            context,
            partial="orgs/partials/_activity.html",
            # htmx swaps only 2xx answers: the filters' alert is in the swapped panel.
            status=400 if filters.errors and not wants_partial(request) else 200,
        )
