"""GitHub sign-in (allauth's GitHub provider) and the organization synchronisation after it.

allauth signs the user in and hands over the OAuth token it obtained (scope ``read:org``);
reading the user's organizations and teams is ours. The API address is allauth's own, which
the operator's ``GITHUB_URL`` sets: no tenant input ever chooses it.

The token is kept (encrypted, in allauth's token table) so that ``accounts.providers`` can ask
GitHub again later whether the user still belongs to the linked organizations.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.conf import settings

from accounts import sync
from orgs.models import User
from pipeline_secrets.core import sealing

logger = logging.getLogger(__name__)
PAGE = 100
MAX_PAGES = 10


class GitHubUnavailable(RuntimeError):
    """GitHub's API did not answer as expected; memberships are left as they were."""


class GitHubTokenRefused(GitHubUnavailable):
    """GitHub no longer accepts the user's token (the app was revoked or the token ended)."""


def enabled() -> bool:
    return bool(settings.GITHUB_CLIENT_ID)


def api_url() -> str:
    from allauth.socialaccount.providers.github.views import GitHubOAuth2Adapter

    return str(GitHubOAuth2Adapter.api_url)


def _get_all(path: str, token: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in range(1, MAX_PAGES + 1):
        try:
            response = requests.get(
                f"{api_url()}{path}",
                params={"per_page": PAGE, "page": page},
                headers={
                    "Authorization": f"token {token}",
                    "Accept": "application/vnd.github+json",
                },
                timeout=10,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise GitHubUnavailable(f"GET {path}: {type(exc).__name__}") from None
        if response.status_code == 401:
            raise GitHubTokenRefused(f"GET {path}: HTTP 401")
        if response.status_code != 200:
            raise GitHubUnavailable(f"GET {path}: HTTP {response.status_code}")
        try:
            batch = response.json()
        except ValueError:
            raise GitHubUnavailable(f"GET {path}: not JSON") from None
        if not isinstance(batch, list):
            raise GitHubUnavailable(f"GET {path}: not a list")
        items.extend(b for b in batch if isinstance(b, dict))
        if len(batch) < PAGE:
            break
    return items


def _memberships(token: str) -> tuple[list[str], list[tuple[str, str]]]:
    orgs = [str(o.get("login", "")) for o in _get_all("/user/orgs", token)]
    teams = [
        (str((t.get("organization") or {}).get("login", "")), str(t.get("slug", "")))
        for t in _get_all("/user/teams", token)
    ]
    return [o for o in orgs if o], teams


def sync_user(*, user: User, token: str) -> bool:
    """After a GitHub sign-in: keep the token for later re-checks and apply the user's GitHub
    organizations and teams to the linked organizations. False (and nothing changed) when
    GitHub could not be read."""
    remember_token(user=user, token=token)
    try:
        orgs, teams = _memberships(token)
    except GitHubUnavailable as exc:
        logger.warning("GitHub organizations not synchronised for %s: %s", user.username, exc)
        return False
    sync.apply_github(user=user, orgs=orgs, teams=teams)
    return True


def recheck(*, user: User) -> str:
    """Ask GitHub again, with the token kept at sign-in, and apply the answer: ``checked``,
    ``ended`` (GitHub refuses the token: every GitHub membership ends), ``unavailable``
    (nothing changed) or ``no-token`` (no token kept: the user must sign in again)."""
    token = stored_token(user=user)
    if token is None:
        return "no-token"
    try:
        orgs, teams = _memberships(token)
    except GitHubTokenRefused:
        sync.apply_github(user=user, orgs=[], teams=[])
        SocialToken.objects.filter(account__user=user, account__provider="github").delete()
        return "ended"
    except GitHubUnavailable as exc:
        logger.warning("GitHub memberships not re-checked for %s: %s", user.username, exc)
        return "unavailable"
    sync.apply_github(user=user, orgs=orgs, teams=teams)
    return "checked"


# --------------------------------------------------------------------------- kept token


# The purpose a kept GitHub token is sealed for (``core.sealing``), bound to its user.
KEPT_TOKEN = "github token"


def remember_token(*, user: User, token: str) -> None:
    """Keep ``token`` encrypted (bound to the user) for the re-checks."""
    account = SocialAccount.objects.filter(user=user, provider="github").first()
    if account is None:
        return
    sealed = sealing.seal(token, purpose=KEPT_TOKEN, bound_to=f"user:{user.pk}")
    SocialToken.objects.update_or_create(account=account, app=None, defaults={"token": sealed})


def stored_token(*, user: User) -> str | None:
    """The token kept at the user's last GitHub sign-in; None when there is none or no
    configured key opens it."""
    kept = SocialToken.objects.filter(account__user=user, account__provider="github").first()
    if kept is None or not kept.token.startswith(sealing.PREFIX):
        return None
    try:
        return sealing.unseal(kept.token, purpose=KEPT_TOKEN, bound_to=f"user:{user.pk}")
    except sealing.Unsealable:
        return None
