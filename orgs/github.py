"""GitHub sign-in (allauth's GitHub provider) and the organization synchronisation after it.

allauth signs the user in and hands over the OAuth token it obtained (scope ``read:org``);
reading the user's organizations and teams is ours. The API address is allauth's own, which
the operator's ``GITHUB_URL`` sets: no tenant input ever chooses it.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.conf import settings

from orgs import sync
from orgs.models import User

logger = logging.getLogger(__name__)
PAGE = 100
MAX_PAGES = 10


class GitHubUnavailable(RuntimeError):
    """GitHub's API did not answer as expected; memberships are left as they were."""


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


def sync_user(*, user: User, token: str) -> bool:
    """Apply the user's GitHub organizations and teams to the linked organizations.
    False (and nothing changed) when GitHub could not be read."""
    try:
        orgs = [str(o.get("login", "")) for o in _get_all("/user/orgs", token)]
        teams = [
            (str((t.get("organization") or {}).get("login", "")), str(t.get("slug", "")))
            for t in _get_all("/user/teams", token)
        ]
    except GitHubUnavailable as exc:
        logger.warning("GitHub organizations not synchronised for %s: %s", user.username, exc)
        return False
    sync.apply_github(user=user, orgs=[o for o in orgs if o], teams=teams)
    return True
