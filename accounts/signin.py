"""What the three ways of signing in share: allauth's adapters (who may sign up, failed and
refused logins in the audit trail), the sign-in audit, the GitHub synchronisation after a
GitHub sign-in, and the pending invitation kept in the session.
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from allauth.account.signals import user_logged_in as allauth_logged_in
from allauth.account.utils import filter_users_by_email
from allauth.core import context as allauth_context
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    SuspiciousOperation,
    ValidationError,
)
from django.dispatch import receiver
from django.http import HttpRequest

from accounts import github
from orgs import consent, invitations, reporting
from orgs.models import Invitation, Membership, Organization, Source, User
from pipeline_secrets.core.errors import AppError

logger = logging.getLogger(__name__)

INVITATION_SESSION_KEY = "invitation_token"
OIDC_BACKEND = "accounts.oidc.DexBackend"


# --------------------------------------------------------------------------- audit


def _consented(membership: Membership) -> bool:
    if membership.source in (Source.CREATOR, Source.INVITATION):
        return True
    organization = membership.organization
    if membership.source == Source.GITHUB:
        try:
            return consent.github_org_trusted(organization.github_link.github_org)
        except ObjectDoesNotExist:
            return False
    if membership.source == Source.LDAP:
        # Which group brought the member in is not kept: every mapping must be trusted.
        mappings = list(organization.group_mappings.all())
        return bool(mappings) and all(consent.group_trusted(m.group) for m in mappings)
    return False


def consenting_organizations(user: User) -> list[Organization]:
    """The organizations ``user`` joined by consent, whose admins see the person's sign-ins:
    created, joined by invitation, or came in through a link the operator trusts
    (``orgs.consent``). Memberships an admin made directly do not count."""
    memberships = (
        Membership.objects.filter(user=user)
        .select_related("organization", "organization__github_link")
        .prefetch_related("organization__group_mappings")
    )
    return [m.organization for m in memberships if _consented(m)]


def record_for_user(user: User | None, *, actor: str, action: str, **detail: Any) -> None:
    """One event in ``user``'s own security log (outside any organization), and one in each
    organization they joined by consent (``consenting_organizations``), so its admins see it; an
    organization an admin put them in without their consent sees nothing."""
    organizations = consenting_organizations(user) if user is not None else []
    target: dict[str, Any] = {
        "target_type": "user",
        "target_id": user.pk if user is not None else "",
        "target_name": user.username if user is not None else actor,
    }
    event = {"actor": actor, "action": action, **target, **detail}
    reporting.audit_all([event] + [{**event, "organization": org} for org in organizations])


def _login_name(credentials: dict[str, Any]) -> str:
    return str(credentials.get("username") or credentials.get("email") or "")[:150]


def _user_by_login(login: str) -> User | None:
    if not login:
        return None
    if "@" in login:
        # Any of the account's addresses, as allauth's e-mail login accepts them.
        found = filter_users_by_email(login, prefer_verified=True)
        return found[0] if found else None
    return User.objects.filter(username__iexact=login).first()


def login_limit_key(login: str) -> str:
    """What failed logins are counted under: the account, whichever of its names or
    addresses was typed and in whatever case; the typed name when no account has it."""
    user = _user_by_login(login.strip())
    return f"account:{user.pk}" if user is not None else f"name:{login.strip().lower()}"


# --------------------------------------------------------------------------- invitations


def pending_invitation(request: HttpRequest) -> Invitation | None:
    """The pending invitation whose link this browser opened, if any."""
    raw = request.session.get(INVITATION_SESSION_KEY, "")
    invitation = invitations.invitation_for_token(raw) if raw else None
    if invitation is None or invitation.state != Invitation.State.PENDING:
        return None
    return invitation


def join_from_invitation(request: HttpRequest, user: User) -> Membership | None:
    """Accept the pending invitation whose link this browser opened, for ``user`` who has
    just signed up from it: signing up from the link is the consent the page asked for, so
    no second press is needed (the page that follows says so). None when there is none, or
    it is not ``user``'s to accept (then it stays pending, as it was)."""
    invitation = pending_invitation(request)
    if invitation is None or invitations.acceptance_refusal(user, invitation) is not None:
        return None
    raw = request.session.pop(INVITATION_SESSION_KEY, "")
    try:
        membership = invitations.invitation_accept(user=user, raw=raw)
    except (AppError, PermissionDenied):
        return None
    messages.success(request, f"You joined {membership.organization.name} as {membership.role}.")
    return membership


# --------------------------------------------------------------------------- allauth


class AccountAdapter(DefaultAccountAdapter):
    """Local accounts: sign-up only with a pending invitation (for its address) or when
    the operator opened it; failed and refused logins are audited."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return bool(settings.ACCOUNT_SIGNUP_OPEN) or pending_invitation(request) is not None

    def clean_email(self, email: str) -> str:
        email = super().clean_email(email)
        request = self.request
        if request is not None and not settings.ACCOUNT_SIGNUP_OPEN:
            invitation = pending_invitation(request)
            if invitation is not None and invitation.email.lower() != email.lower():
                raise ValidationError(
                    f"Sign up with the address the invitation was sent to: {invitation.email}."
                )
        return email

    def _get_login_attempts_cache_key(self, request: HttpRequest, **credentials: Any) -> str:
        # allauth's key is the typed name under the request's host; one account is one key.
        return login_limit_key(_login_name(credentials))

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            login = _login_name(credentials)
            record_for_user(
                _user_by_login(login),
                actor=login or "anonymous",
                action="signin.locked",
                source="local",
            )
            raise

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        login = _login_name(credentials)
        record_for_user(
            _user_by_login(login), actor=login or "anonymous", action="signin.fail", source="local"
        )

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """Render the mail here, send it from the worker: it is queued sealed (its reset key
        or confirmation link is in no other row) and the request never waits on SMTP."""
        request = allauth_context.request
        rendering = {"request": request, "email": email, "current_site": get_current_site(request)}
        rendering.update(context)
        reporting.queue_mail(self.render_mail(template_prefix, email, rendering))


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """GitHub: a new account follows the rule of local sign-up (``orgs.consent``): only for
    a person with a pending invitation to an address GitHub verified for them, unless the
    operator opened it (``SOCIAL_SIGNUP=open``). Accounts already linked sign in as before.
    An identity is never attached to an existing account by email; allauth asks for another
    address instead."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        verified = [a.email for a in sociallogin.email_addresses if a.verified]
        return consent.provider_signup_allowed(verified)

    def save_user(self, request: HttpRequest, sociallogin: Any, form: Any = None) -> User:
        """A new account through GitHub from an invitation's link joins at once, as a local
        sign-up from it does (when GitHub verified the invited address)."""
        user: User = super().save_user(request, sociallogin, form)
        join_from_invitation(request, user)
        return user


def tell_new_directory_account(request: HttpRequest, user: User, taken: str) -> None:
    """Say so when a first directory sign-in made the account under another name because
    the directory's (``taken``) belongs to another account here (the audit's
    ``identity.link`` event records it too)."""
    if taken:
        messages.warning(
            request,
            f"The name {taken} belongs to another account here, so your new account is "
            f"{user.username}. Admins invite you by that name.",
        )


class SignUpClosed(SuspiciousOperation):
    """A new account through LDAP while the operator has not opened sign-up to it."""


def provider_user_create(*, username: str, claims: dict[str, Any]) -> User:
    """A new account for an LDAP person (the OIDC claims), only where ``orgs.consent``
    allows it (SignUpClosed otherwise); an address the provider verified is kept as a
    verified address of the account, so an invitation to it can be accepted."""
    email = str(claims.get("email") or "").strip()
    verified = email if email and claims.get("email_verified") is True else ""
    if not consent.provider_signup_allowed([verified] if verified else []):
        raise SignUpClosed("sign-up through the directory is closed for this person")
    taken = bool(verified) and EmailAddress.objects.filter(email__iexact=verified).exists()
    user = User(username=username, email="" if taken else verified)
    user.set_unusable_password()
    user.save()
    if verified and not taken:
        EmailAddress.objects.create(user=user, email=verified, verified=True, primary=True)
    return user


@receiver(allauth_logged_in)
def _allauth_signed_in(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    sociallogin = kwargs.get("sociallogin")
    source = sociallogin.account.provider if sociallogin is not None else "local"
    if source == Source.GITHUB and sociallogin is not None and sociallogin.token is not None:
        github.sync_user(user=user, token=sociallogin.token.token)
    record_for_user(user, actor=user.username, action="signin", source=source)


@receiver(user_logged_in)
def _django_signed_in(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    if getattr(user, "backend", "") == OIDC_BACKEND:
        record_for_user(user, actor=user.username, action="signin", source=Source.LDAP)
