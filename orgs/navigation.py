"""An organization's tabs, the account menu and the landing page, registered by the apps
that own the pages.

``orgs`` names no page of the apps above it: each app registers its links here in its
``AppConfig.ready()`` (as NetBox's apps register menu items and template extensions). A
page inside an organization shows, in ``weight`` order, the tabs whose policy action the
caller's standing allows; every page shows a signed-in person the account menu's links.
The landing page (after the first run, creating an organization, joining one) is the tab
registered with ``landing=True``, else the Members page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from django.conf import settings
from django.http import HttpResponseBase
from django.urls import reverse

from orgs import policy
from orgs.models import Membership


@dataclass(frozen=True)
class Link:
    """A tab: the ``section`` a page of it names, its label, its URL name (taking the
    organization's id) and the policy action that shows it."""

    section: str
    label: str
    url_name: str
    action: str
    weight: int
    # What the label shows in brackets when not zero (e.g. requests waiting), or None.
    count: Callable[[Membership], int] | None = None


@dataclass(frozen=True)
class AccountLink:
    """A link of the account menu: the ``section`` its page names, label, URL name."""

    section: str
    label: str
    url_name: str
    weight: int


_LINKS: dict[str, Link] = {}
_ACCOUNT_LINKS: dict[str, AccountLink] = {}
_LANDING: list[str] = []
DEFAULT_LANDING = "dashboard:members"


def register_link(
    section: str,
    label: str,
    url_name: str,
    *,
    action: str,
    weight: int,
    landing: bool = False,
    count: Callable[[Membership], int] | None = None,
) -> None:
    """Add (or replace) the tab of ``section``; ``landing`` makes its page the landing page;
    ``count(membership)``, when not zero, is shown after the label."""
    _LINKS[section] = Link(section, label, url_name, action, weight, count)
    if landing:
        _LANDING[:] = [url_name]


def links(membership: Membership) -> list[tuple[Link, str]]:
    """The tabs ``membership`` may see, each with its URL in the membership's organization."""
    shown = sorted(_LINKS.values(), key=lambda link: link.weight)
    return [
        (_counted(link, membership), reverse(link.url_name, args=[membership.organization_id]))
        for link in shown
        if policy.allows(membership, link.action)
    ]


def _counted(link: Link, membership: Membership) -> Link:
    number = link.count(membership) if link.count is not None else 0
    return replace(link, label=f"{link.label} ({number})") if number else link


def landing_url(organization_id: int) -> str:
    """Where a person lands in the organization ``organization_id``."""
    return reverse(_LANDING[0] if _LANDING else DEFAULT_LANDING, args=[organization_id])


# The organization a browser last opened a page of, as "<user id>:<organization id>": where
# the next sign-in lands when the person belongs to several. Not a secret (membership is
# checked as ever), and it outlives the session, which signing out ends.
LAST_ORG_COOKIE = "last_org"
LAST_ORG_SECONDS = 365 * 24 * 3600


def remember_organization(response: HttpResponseBase, user_id: int, organization_id: int) -> None:
    response.set_cookie(
        LAST_ORG_COOKIE,
        f"{user_id}:{organization_id}",
        max_age=LAST_ORG_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=settings.SECURE_COOKIES,
    )


def landing_after_sign_in(user_id: int, last: str) -> str:
    """Where a sign-in lands: the person's only organization, else the one this browser
    last opened (``last``, the cookie) if they still belong to it, else the list of them."""
    org_ids = list(
        Membership.objects.filter(user_id=user_id).values_list("organization_id", flat=True)
    )
    if len(org_ids) == 1:
        return landing_url(org_ids[0])
    owner, _, org = last.partition(":")
    if owner == str(user_id) and org.isdigit() and int(org) in org_ids:
        return landing_url(int(org))
    return reverse("dashboard:home")


def register_account_link(section: str, label: str, url_name: str, *, weight: int) -> None:
    """Add (or replace) the account menu's link to ``section``."""
    _ACCOUNT_LINKS[section] = AccountLink(section, label, url_name, weight)


def account_links() -> list[tuple[AccountLink, str]]:
    """The account menu's links with their URLs, in ``weight`` order."""
    shown = sorted(_ACCOUNT_LINKS.values(), key=lambda link: link.weight)
    return [(link, reverse(link.url_name)) for link in shown]


# What the apps above say about members on the Members page (a temporary grant, say):
# ``note(organization)`` answers {user id: [short texts]}.
MemberNote = Callable[[object], dict[int, list[str]]]
_MEMBER_NOTES: list[MemberNote] = []


def register_member_note(note: MemberNote) -> None:
    if note not in _MEMBER_NOTES:
        _MEMBER_NOTES.append(note)


def member_notes(organization: object) -> dict[int, list[str]]:
    """Every registered note about the members of ``organization``, by user id."""
    merged: dict[int, list[str]] = {}
    for note in _MEMBER_NOTES:
        for user_id, texts in note(organization).items():
            merged.setdefault(user_id, []).extend(texts)
    return merged
