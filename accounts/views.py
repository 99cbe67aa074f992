"""Sign-in pages: allauth's login (which sends a fresh installation to the first-run page),
the first-admin page behind the setup code, password change, the LDAP start and the
invitation link."""

from __future__ import annotations

from typing import Any

from allauth.account import views as account_views
from allauth.account.adapter import get_adapter
from allauth.account.forms import ChangePasswordForm
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views import View
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from accounts import first_run, github, oidc, providers, services, signin
from accounts.forms import FirstAdminForm
from orgs import invitations, navigation, policy
from orgs.models import Invitation, Membership, User
from pipeline_secrets.core.errors import ConflictError, NotFoundError


def sign_in_options(request: HttpRequest) -> dict[str, Any]:
    return {
        "github_enabled": github.enabled(),
        "oidc_enabled": oidc.enabled(),
        "oidc_label": _oidc_label(),
    }


def _oidc_label() -> str:
    from django.conf import settings

    return str(settings.OIDC_LABEL)


class LoginView(account_views.LoginView):
    """allauth's sign-in, which sends a fresh installation to the first-run page."""

    policy_audience = {"GET": policy.PUBLIC, "POST": policy.PUBLIC, "PUT": policy.PUBLIC}

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not User.objects.exists():
            return redirect("setup")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(sign_in_options(self.request))
        context["signup_open"] = get_adapter(self.request).is_open_for_signup(self.request)
        # The page asked for goes with the form; the site's root is no particular page, so
        # the sign-in then lands in the person's organization (``SignedInView``).
        wanted = context.get("redirect_field_value") or ""
        context["next"] = "" if wanted == "/" else wanted
        return context


class SignupView(account_views.SignupView):
    """allauth's sign-up; from an invitation's link, the new account joins the invited
    organization at once (the invitation page says that signing up accepts it)."""

    policy_audience = {"GET": policy.PUBLIC, "POST": policy.PUBLIC, "PUT": policy.PUBLIC}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context["invitation"] = signin.pending_invitation(self.request)
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        response: HttpResponse = super().form_valid(form)
        user = self.request.user
        if not isinstance(user, User):
            return response  # not signed in yet (an address still to verify)
        membership = signin.join_from_invitation(self.request, user)
        if membership is None:
            return response
        return redirect(navigation.landing_url(membership.organization_id))


class SignedInView(LoginRequiredMixin, View):
    """Where a sign-in lands (``LOGIN_REDIRECT_URL``): the person's organization, the only
    one or the one last used in this browser; the list of them otherwise."""

    policy_audience = {"GET": policy.SIGNED_IN}

    def get(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        assert isinstance(user, User)
        last = request.COOKIES.get(navigation.LAST_ORG_COOKIE, "")
        return redirect(navigation.landing_after_sign_in(user.pk, last))


class FirstAdminView(View):
    """Create the first account and its organization, with the setup code ``make run``
    printed; closed once any account exists."""

    policy_audience = {"GET": policy.PUBLIC, "POST": policy.PUBLIC}

    template_name = "accounts/setup.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if User.objects.exists():
            return redirect("login")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        first_run.setup_code()  # made now if `make run` did not make it
        return render(request, self.template_name, {"form": FirstAdminForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = FirstAdminForm(request.POST)
        if form.is_valid() and not first_run.setup_code_matches(form.cleaned_data["setup_code"]):
            form.add_error("setup_code", "This is not the setup code printed by make run.")
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.first_admin_create(
                    username=data["username"],
                    password=data["password1"],
                    organization_name=data["organization"],
                )
            except ConflictError:
                return redirect("login")
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                first_run.setup_code_discard()
                login(request, user, backend="allauth.account.auth_backends.AuthenticationBackend")
                org_id = Membership.objects.filter(user=user).values_list(
                    "organization_id", flat=True
                )[0]
                messages.success(request, "Welcome. Create your first secret here.")
                return redirect(navigation.landing_url(org_id))
        return render(request, self.template_name, {"form": form}, status=400)


class PasswordChangeView(account_views.PasswordChangeView):
    """allauth's password change; it also ends the user's other sessions at once."""

    policy_audience = {"GET": policy.SESSION, "POST": policy.SESSION, "PUT": policy.SESSION}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context["reset_address"] = services.verified_address(self.request.user)
        return context

    def form_valid(self, form: ChangePasswordForm) -> HttpResponse:
        response = super().form_valid(form)  # saves, keeps this session signed in
        services.end_other_sessions(user=form.user, keep=self.request.session.session_key)
        return response


def _no_local_password(request: HttpRequest, user: User) -> HttpResponse:
    context = {
        "status": 403,
        "title": "No password for this account",
        "detail": providers.local_password_refusal(user),
    }
    return render(request, "errors/app_error.html", context, status=403)


class PasswordSetView(account_views.PasswordSetView):
    """allauth's password set, refused to an account whose identity is GitHub's or LDAP's
    (``accounts.providers``): a local password would outlive its access there."""

    policy_audience = {"GET": policy.SESSION, "POST": policy.SESSION, "PUT": policy.SESSION}

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if isinstance(user, User) and not providers.may_set_local_password(user):
            return _no_local_password(request, user)
        return super().dispatch(request, *args, **kwargs)


class PasswordResetFromKeyView(account_views.PasswordResetFromKeyView):
    """allauth's reset by the mailed link, refused in the same way: the link proves the
    address, not that GitHub or the directory still vouches for the person."""

    policy_audience = {"GET": policy.PUBLIC, "POST": policy.PUBLIC, "PUT": policy.PUBLIC}

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = getattr(self, "reset_user", None)
        if isinstance(user, User) and not providers.may_set_local_password(user):
            return _no_local_password(request, user)
        response: HttpResponse = super().get(request, *args, **kwargs)
        return response

    def form_valid(self, form: Any) -> HttpResponse:
        user = getattr(self, "reset_user", None)
        if isinstance(user, User) and not providers.may_set_local_password(user):
            return _no_local_password(self.request, user)
        response: HttpResponse = super().form_valid(form)
        return response


class OidcStartView(OIDCAuthenticationRequestView):
    """Starts the LDAP sign-in at Dex; says so plainly when it is off or unreachable."""

    policy_audience = {"GET": policy.PUBLIC}

    def get(self, request: HttpRequest) -> HttpResponse:
        if not oidc.ready():
            messages.error(request, "LDAP sign-in is not available right now.")
            return redirect("login")
        from django.conf import settings

        self.OIDC_OP_AUTH_ENDPOINT = settings.OIDC_OP_AUTHORIZATION_ENDPOINT
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        response: HttpResponse = super().get(request)
        return response


class InvitationView(View):
    """The link from an invitation mail: shows whose invitation it is; the invited person,
    signed in, accepts it (``orgs.invitations`` says who that is: anyone else is refused);
    a visitor signs in or signs up first (local sign-up is then open for the invited address
    only, and that address counts as verified: the link reached it). Signing up from the
    link is the acceptance (``SignupView``, the page says so); opened again by the person
    who joined through it, the link leads into the organization."""

    policy_audience = {"GET": policy.PUBLIC, "POST": policy.PUBLIC}

    template_name = "accounts/invitation.html"

    def invitation(self, token: str) -> Invitation | None:
        return invitations.invitation_for_token(token)

    def accepted_by_caller(self, request: HttpRequest, invitation: Invitation) -> bool:
        """The caller already joined through this link (they signed up from it)."""
        user = request.user
        return isinstance(user, User) and invitation.accepted_by_id == user.pk

    def refused(self, request: HttpRequest, invitation: Invitation | None) -> HttpResponse:
        state = invitation.state if invitation is not None else "invalid"
        request.session.pop(signin.INVITATION_SESSION_KEY, None)
        status = 404 if invitation is None else 410
        return self.page(request, {"refused": state, "invitation": invitation}, status=status)

    def page(
        self, request: HttpRequest, context: dict[str, Any], status: int = 200
    ) -> HttpResponse:
        context.update(sign_in_options(request))
        response = render(request, self.template_name, context, status=status)
        add_never_cache_headers(response)
        return response

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        invitation = self.invitation(token)
        if invitation is not None and self.accepted_by_caller(request, invitation):
            return redirect(navigation.landing_url(invitation.organization_id))
        if invitation is None or invitation.state != Invitation.State.PENDING:
            return self.refused(request, invitation)
        request.session[signin.INVITATION_SESSION_KEY] = token
        context: dict[str, Any] = {"invitation": invitation, "next": request.path}
        if not request.user.is_authenticated:
            # The link reached this address: a local account made for it needs no other
            # verification mail.
            get_adapter(request).stash_verified_email(request, invitation.email)
        else:
            assert isinstance(request.user, User)
            context["error"] = invitations.acceptance_refusal(request.user, invitation)
        return self.page(request, context)

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect(f"/accounts/login/?next={request.path}")
        invitation = self.invitation(token)
        if invitation is None or invitation.state != Invitation.State.PENDING:
            return self.refused(request, invitation)
        user = request.user
        assert isinstance(user, User)
        try:
            membership = invitations.invitation_accept(user=user, raw=token)
        except NotFoundError:
            return self.refused(request, None)
        except ConflictError as exc:
            return self.page(request, {"invitation": invitation, "error": exc.detail}, status=409)
        except PermissionDenied as exc:
            # Not the invited person: the link stays usable for them, nothing changed here.
            return self.page(request, {"invitation": invitation, "error": str(exc)}, status=403)
        request.session.pop(signin.INVITATION_SESSION_KEY, None)
        messages.success(
            request, f"You joined {membership.organization.name} as {membership.role}."
        )
        return redirect(navigation.landing_url(membership.organization_id))
