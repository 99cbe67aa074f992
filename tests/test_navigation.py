"""What the lower apps show of the upper ones comes from what those registered at start-up:
an organization's tabs, the account menu, the landing page, the activity page's kinds and
the notification event kinds (``orgs.navigation``, ``audit.activity``,
``notifications.events``)."""

from __future__ import annotations

import re

import pytest

from audit import activity
from notifications.events import event_kinds
from orgs import navigation
from tests.conftest import Personas
from tests.test_dashboard import signed_in

pytestmark = pytest.mark.django_db

ALL_TABS = [
    "Secrets",
    "Members",
    "Clusters",
    "Databases",
    "Change requests",
    "Invitations",
    "Sign-in",
    "Activity",
    "Notifications",
    "Access",
]


def tabs(html: str) -> list[str]:
    nav = html.split('<nav class="tabs"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r">([^<>]+)</a>", nav)


def test_each_role_sees_the_tabs_the_policy_allows_in_the_apps_order(personas: Personas) -> None:
    members = f"/orgs/{personas.org.pk}/members/"
    assert tabs(signed_in(personas, "admin").get(members).content.decode()) == ALL_TABS
    for persona in ("member", "viewer"):
        html = signed_in(personas, persona).get(members).content.decode()
        assert tabs(html) == [
            "Secrets",
            "Members",
            "Clusters",
            "Databases",
            "Change requests",
            "Access",
        ]


def test_the_account_menu_comes_from_the_apps_that_own_its_pages(personas: Personas) -> None:
    html = signed_in(personas, "viewer").get("/account/tokens/").content.decode()
    menu = html.split('aria-label="Account"', 1)[1].split("</nav>", 1)[0]
    assert re.findall(r'href="([^"]+)"[^>]*>([^<]+)</a>', menu)[:3] == [
        ("/account/tokens/", "API tokens"),
        ("/account/security/", "Security log"),
        ("/accounts/password/", "Password"),
    ]
    assert 'href="/account/tokens/" aria-current="page"' in menu


def test_an_organization_lands_on_the_page_its_landing_tab_names(personas: Personas) -> None:
    assert navigation.landing_url(personas.org.pk) == f"/orgs/{personas.org.pk}/secrets/"
    root = signed_in(personas, "viewer").get(f"/orgs/{personas.org.pk}/")
    assert root.status_code == 302 and root["Location"] == f"/orgs/{personas.org.pk}/secrets/"


def test_the_upper_apps_registered_their_activity_kinds_and_event_kinds() -> None:
    assert [label for _, label in activity.kinds()] == [
        "Everything",
        "Secrets",
        "Values read",
        "Break-glass",
        "Share links",
        "Members",
        "Sign-ins",
        "Invitations",
        "Clusters",
        "Notifications",
        "Databases",
        "Temporary access",
        "Change requests",
        "Protection",
    ]
    assert list(event_kinds()) == [
        "member.added",
        "member.removed",
        "member.role_changed",
        "secret.created",
        "secret.updated",
        "secret.deleted",
        "secret.rotated",
        "secret.rotation_failed",
        "secret.expiring",
        "secret.read",
        "installation.created",
        "installation.removed",
        "installation.sync_failed",
        "database.credentials_failed",
        "change.requested",
        "change.decided",
        "access.requested",
        "access.granted",
        "access.rejected",
        "access.revoked",
        "secret.break_glass",
    ]
