"""Accounts and memberships that come from an outside provider (GitHub, LDAP through Dex)
stay tied to it.

* An account whose identity is a provider's (no usable local password, and a GitHub account
  or an OIDC identity) gets no local password unless ``PROVIDER_LOCAL_PASSWORDS`` allows it:
  otherwise leaving GitHub or the directory would not end its access.
* Memberships from GitHub are asked again (``run_due``, a job of ``manage.py periodic``)
  every ``PROVIDER_RECHECK_SECONDS``, with the token kept at sign-in; the answer is applied
  as at sign-in, so a membership GitHub no longer grants ends with the API tokens minted
  under it. LDAP memberships cannot be asked again without the user (no refresh token is
  kept): they count as confirmed for ``PROVIDER_SIGNIN_MAX_AGE_SECONDS`` after the LDAP
  sign-in that confirmed them, and after that carry no API token until the next sign-in.
* An API token minted under such a membership records it (``ApiToken.provider_*``, set by
  ``orgs.services.token_origin``) and re-checks it at use, at most once per interval
  (``check_token``): the time of the last check is on the token's row, so a request between
  checks costs nothing more.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet

from accounts import github
from orgs.models import ApiToken, Membership, Source, User
from orgs.services import PROVIDER_SOURCES


class ProviderRefused(Exception):
    """The provider no longer vouches for what a token or account relies on."""


def recheck_interval() -> timedelta:
    return timedelta(seconds=settings.PROVIDER_RECHECK_SECONDS)


def signin_max_age() -> timedelta:
    return timedelta(seconds=settings.PROVIDER_SIGNIN_MAX_AGE_SECONDS)


# --------------------------------------------------------------------------- local passwords


def provider_of(user: User) -> str:
    """``github`` or ``ldap`` when ``user``'s identity is that provider's alone (no usable
    local password), else empty."""
    return user.provider_source


def may_set_local_password(user: User) -> bool:
    return bool(settings.PROVIDER_LOCAL_PASSWORDS) or not provider_of(user)


def local_password_refusal(user: User) -> str:
    label = "GitHub" if provider_of(user) == Source.GITHUB else str(settings.OIDC_LABEL)
    return (
        f"This account signs in through {label}, so it cannot have a password here: "
        f"access ends when {label} ends it. Sign in with {label}."
    )


# --------------------------------------------------------------------------- tokens


def _fresh(checked_at: datetime | None, now: datetime, within: timedelta) -> bool:
    return checked_at is not None and now - checked_at < within


def vouched(membership: Membership, now: datetime) -> bool:
    """Whether ``membership``'s provider confirmed it recently enough to carry API tokens:
    GitHub within two re-check intervals (one missed round is tolerated), LDAP within
    ``PROVIDER_SIGNIN_MAX_AGE_SECONDS`` of the confirming sign-in. Other memberships always."""
    if membership.source not in PROVIDER_SOURCES:
        return True
    limit = signin_max_age() if membership.source == Source.LDAP else recheck_interval() * 2
    return _fresh(membership.provider_checked_at, now, limit)


def check_token(token: ApiToken, now: datetime) -> None:
    """Re-check, at most once per interval, the provider membership ``token`` was minted
    under; ProviderRefused when it has ended or can no longer be vouched for. Only a
    passed check is stamped on the token, so a refused token is asked again next time."""
    if not token.provider_source:
        return
    if token.organization_id is not None and token.provider_membership_id is None:
        raise ProviderRefused("The membership this token was issued under has ended.")
    if _fresh(token.provider_checked_at, now, recheck_interval()):
        return
    _recheck(token, now)
    ApiToken.objects.filter(pk=token.pk).update(provider_checked_at=now)
    token.provider_checked_at = now
    _refresh_url_membership(token, now)


def _membership_of_token(token: ApiToken) -> Membership | None:
    if token.provider_membership_id is None:
        return None
    return Membership.objects.filter(pk=token.provider_membership_id).first()


def _recheck(token: ApiToken, now: datetime) -> None:
    membership = _membership_of_token(token)
    stale = membership is None or not _fresh(
        membership.provider_checked_at, now, recheck_interval()
    )
    if token.provider_source == Source.GITHUB and stale:
        github.recheck(user=token.user)  # ends what GitHub no longer grants, and its tokens
        token.refresh_from_db(fields=["revoked_at", "provider_membership"])
        if token.revoked_at is not None:
            raise ProviderRefused("This token has been revoked: its membership has ended.")
        membership = _membership_of_token(token)
    if token.organization_id is None:
        return  # unlimited: each organization's membership is judged on its own
    if membership is None:
        raise ProviderRefused("The membership this token was issued under has ended.")
    if not vouched(membership, now):
        raise ProviderRefused(
            "The sign-in provider has not confirmed this token's membership recently: "
            "sign in again to renew it."
        )


def _refresh_url_membership(token: ApiToken, now: datetime) -> None:
    """The membership authentication read for the URL's organization may have ended or
    gone unconfirmed: then the request is answered as for a non-member."""
    if token.membership_of is None:
        return
    org_id, membership = token.membership_of
    if membership is None:
        return
    current = Membership.objects.filter(pk=membership.pk).first()
    if current is None or not vouched(current, now):
        token.membership_of = (org_id, None)


# --------------------------------------------------------------------------- periodic


def github_due(now: datetime) -> QuerySet[Membership]:
    """The GitHub memberships not confirmed within the interval at ``now``."""
    stale = Q(provider_checked_at__isnull=True) | Q(
        provider_checked_at__lt=now - recheck_interval()
    )
    return Membership.objects.filter(stale, source=Source.GITHUB)


def run_due(now: datetime) -> dict[str, int]:
    """Re-check every user with a GitHub membership not confirmed within the interval.

    Safe with several runners: applying GitHub's answer locks the user's memberships, and a
    second application of the same answer changes nothing."""
    users = github_due(now).values_list("user_id", flat=True).distinct()
    counts = {"checked": 0, "ended": 0, "unavailable": 0, "no-token": 0}
    for user in User.objects.filter(pk__in=list(users)):
        counts[github.recheck(user=user)] += 1
    ldap_stale = Membership.objects.filter(
        Q(provider_checked_at__isnull=True) | Q(provider_checked_at__lt=now - signin_max_age()),
        source=Source.LDAP,
    ).count()
    return {f"github-{k}": v for k, v in counts.items()} | {"ldap-unconfirmed": ldap_stale}
