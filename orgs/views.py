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
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView

from orgs import consent, invitation_links, invitations, navigation, policy, selectors, services
from orgs.forms import (
    MemberAddForm,
    MemberRoleForm,
    OrganizationForm,
    TokenCreateForm,
)
from orgs.models import ROLE_RULES, ApiToken, Role, User
from orgs.scoping import OrgScopedViewMixin
from pipeline_secrets.core.errors import (
    AppError,
    ConflictError,
    NotFoundError,
)
from pipeline_secrets.core.web import (
    app_error,
    is_htmx,
    redirect_to,
    render_page,
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
    """A page inside the organization named by the URL; outsiders get the 404 page. A page
    shown is remembered as the organization the next sign-in lands in."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = super().dispatch(request, *args, **kwargs)
        if request.method == "GET" and response.status_code == 200 and hasattr(self, "membership"):
            navigation.remember_organization(response, self.user.pk, self.organization.pk)
        return response

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
        context["may_create_orgs"] = policy.may_create_organizations(self.user)
        return context


class OrganizationCreateView(AccountView):
    """Creates an organization; who may is the operator's choice (``ORG_CREATION``), which
    the service enforces: a refusal is the form's message with a 403."""

    policy_audience = {"GET": policy.ORG_CREATORS, "POST": policy.ORG_CREATORS}
    template_name = "orgs/org_form.html"

    def post(self, request: HttpRequest) -> HttpResponse:
        form = OrganizationForm(request.POST)
        status = 200 if policy.may_create_organizations(self.user) else 403
        if status == 200 and form.is_valid():
            try:
                org = services.organization_create(actor=self.user, name=form.cleaned_data["name"])
            except ValidationError as exc:
                form.add_service_errors(exc)
            except ConflictError as exc:
                form.add_error("name", exc.detail)
            except PermissionDenied:
                status = 403  # the page says why (refused_message)
            else:
                messages.success(request, f"Created {org.name}. You are its admin.")
                return redirect_to(request, navigation.landing_url(org.pk))
        return self.render_to_response(self.get_context_data(form=form), status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        context = self.get_context_data()
        status = 200 if context["may_create_orgs"] else 403
        return self.render_to_response(context, status=status)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("form", OrganizationForm())
        kwargs["may_create_orgs"] = policy.may_create_organizations(self.user)
        kwargs["refused_message"] = consent.ORG_CREATION_REFUSED
        return super().get_context_data(**kwargs)


class OrganizationRootView(OrgView):
    policy_actions = {"GET": "org.view"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        return redirect(navigation.landing_url(self.organization.pk))


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
        members = list(selectors.member_list(organization=self.organization))
        notes = navigation.member_notes(self.organization)
        for member in members:
            member.notes = notes.get(member.user_id, [])  # type: ignore[attr-defined]
        context["members"] = members
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
    """Invites an existing account by username: it becomes a member when it accepts.
    Accounts are never created here, and nobody joins without accepting. The new link is
    shown once on the invitation's link page, as for an invitation by address."""

    policy_actions = {"GET": "member.manage", "POST": "member.manage"}

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        form = MemberAddForm(request.POST, organization=self.organization)
        duplicate = None
        if form.is_valid():
            username = form.cleaned_data["username"].strip()
            try:
                invitation, raw = invitations.member_invite(
                    actor=self.user,
                    organization=self.organization,
                    username=username,
                    role=form.cleaned_data["role"],
                    base_url=request.build_absolute_uri("/"),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            except invitations.DuplicateInvitation as exc:
                form.add_error("username", exc.detail)
                duplicate = exc.invitation
            except ConflictError as exc:
                form.add_error("username", exc.detail)
            else:
                messages.success(
                    request,
                    f"Invited {username} as {invitation.role}: they join when they accept "
                    "the invitation mailed to them (or the link below, if you give it to them).",
                )
                return invitation_links.show_link_once(request, self.user, invitation, raw)
        return self.members_response(add_form=form, duplicate=duplicate)


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
    """Removing a member: a confirmation page saying what happens (GET), then the removal
    (POST, answered by a redirect to the Members page)."""

    policy_actions = {"GET": "member.manage", "POST": "member.manage"}

    def get(self, request: HttpRequest, org_id: int, user_id: int) -> HttpResponse:  # type: ignore[override]
        member = selectors.member_get(organization=self.organization, user_id=user_id)
        context = self.get_context_data(
            member=member,
            is_self=member.user_id == self.user.pk,
            tokens=ApiToken.objects.for_user(member.user)
            .usable()
            .filter(Q(organization=self.organization) | Q(organization__isnull=True))
            .count(),
        )
        return render_page(request, "orgs/member_remove.html", context)

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
