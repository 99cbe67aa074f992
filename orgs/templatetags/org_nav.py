"""``{% org_tabs membership as tabs %}``, ``{% account_links as links %}`` and
``{{ org_id|org_home }}``: the organization's tabs, the account menu and the landing page
registered in ``orgs.navigation``, in templates."""

from __future__ import annotations

from django import template

from orgs import navigation
from orgs.models import Membership

register = template.Library()


@register.simple_tag
def org_tabs(membership: Membership) -> list[dict[str, str]]:
    return [
        {"section": link.section, "label": link.label, "url": url}
        for link, url in navigation.links(membership)
    ]


@register.simple_tag
def account_links() -> list[dict[str, str]]:
    return [
        {"section": link.section, "label": link.label, "url": url}
        for link, url in navigation.account_links()
    ]


@register.filter
def org_home(organization_id: int) -> str:
    return navigation.landing_url(organization_id)
