"""``{% org_tabs membership as tabs %}`` and ``{{ org_id|org_home }}``: the organization's
registered tabs and landing page (``orgs.navigation``) in templates."""

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


@register.filter
def org_home(organization_id: int) -> str:
    return navigation.landing_url(organization_id)
