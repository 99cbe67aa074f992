"""Memberships that follow an outside directory: LDAP groups (through Dex) and GitHub
organizations. Applied at each sign-in through that source, and again when
``accounts.providers`` re-checks GitHub.

Only memberships the same source created are changed or removed: one an admin added, or an
invitation made, is never touched by a synchronisation. An organization's last admin is never
removed or demoted by it either; that needs an admin's hand.

Each membership the source still grants is stamped ``provider_checked_at``; one it no longer
grants is removed together with the API tokens minted under it.

A GitHub link or group mapping the operator does not trust (``GITHUB_TRUSTED_ORGS``,
``LDAP_TRUSTED_GROUPS``, ``orgs.consent``) grants nothing: its organization stays managed, so
the memberships it made end at the next synchronisation, audited like any other removal.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.models import GitHubLink, GroupMapping
from orgs import consent, reporting
from orgs.models import ApiToken, Membership, Organization, Role, Source, User

SYNC_ACTOR = "sync"


def _strongest(roles: Iterable[str]) -> str | None:
    ranked = sorted(set(roles), key=Role.rank)
    return ranked[-1] if ranked else None


def _record(action: str, membership: Membership, source: str) -> None:
    reporting.audit(
        actor=f"{SYNC_ACTOR}:{source}",
        action=action,
        organization=membership.organization,
        target_type="member",
        target_id=membership.user_id,
        target_name=membership.user.username,
        role=membership.role,
        purpose=source,
    )


def _is_last_admin(membership: Membership) -> bool:
    if membership.role != Role.ADMIN:
        return False
    return (
        not Membership.objects.for_org(membership.organization)
        .filter(role=Role.ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )


def end(membership: Membership, source: str) -> None:
    """Remove ``membership`` (its provider no longer grants it) and revoke the API tokens
    minted under it, audited."""
    _record("member.sync.remove", membership, source)
    revoked = ApiToken.objects.filter(
        provider_membership=membership, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if revoked:
        reporting.audit(
            actor=f"{SYNC_ACTOR}:{source}",
            action="token.sync.revoke",
            organization=membership.organization,
            target_type="user",
            target_id=membership.user_id,
            target_name=membership.user.username,
            count=revoked,
            source=source,
        )
    membership.delete()


@transaction.atomic
def apply(*, user: User, source: str, wanted: dict[int, str], managed: Iterable[int]) -> None:
    """Make ``user``'s ``source`` memberships in the ``managed`` organizations match
    ``wanted`` (organization id → role): join, change role, leave."""
    now = timezone.now()
    managed_ids = set(managed)
    current = {
        m.organization_id: m
        for m in Membership.objects.select_for_update()
        .select_related("organization", "user")
        .filter(user=user, organization_id__in=managed_ids)
    }
    organizations = Organization.objects.in_bulk(list(wanted))
    for org_id, role in wanted.items():
        membership = current.get(org_id)
        if membership is None:
            membership = Membership.objects.create(
                user=user,
                organization=organizations[org_id],
                role=role,
                source=source,
                provider_checked_at=now,
            )
            _record("member.sync.add", membership, source)
        elif membership.source == source and membership.role != role:
            if _is_last_admin(membership):
                continue
            membership.role = role
            membership.save(update_fields=["role"])
            _record("member.sync.role", membership, source)
    confirmed = [m.pk for o, m in current.items() if o in wanted and m.source == source]
    Membership.objects.filter(pk__in=confirmed).update(provider_checked_at=now)
    for org_id, membership in current.items():
        if org_id in wanted or membership.source != source or _is_last_admin(membership):
            continue
        end(membership, source)


def apply_groups(*, user: User, groups: Iterable[str]) -> None:
    """The ``groups`` claim of an LDAP sign-in, through every organization's mappings."""
    mine = set(groups)
    wanted: dict[int, list[str]] = {}
    managed: set[int] = set()
    for mapping in GroupMapping.objects.all():
        managed.add(mapping.organization_id)
        if mapping.group in mine and consent.group_trusted(mapping.group):
            wanted.setdefault(mapping.organization_id, []).append(mapping.role)
    roles = {org_id: _strongest(r) for org_id, r in wanted.items()}
    apply(
        user=user,
        source=Source.LDAP,
        wanted={k: v for k, v in roles.items() if v},
        managed=managed,
    )


def apply_github(*, user: User, orgs: Iterable[str], teams: Iterable[tuple[str, str]]) -> None:
    """GitHub organizations (logins) and teams ((org login, team slug)) of a GitHub sign-in,
    through every linked organization."""
    my_orgs = {o.lower() for o in orgs}
    my_teams = {(o.lower(), t.lower()) for o, t in teams}
    wanted: dict[int, str] = {}
    managed: set[int] = set()
    for link in GitHubLink.objects.all():
        managed.add(link.organization_id)
        github_org = link.github_org.lower()
        if github_org not in my_orgs or not consent.github_org_trusted(github_org):
            continue
        team_roles = [
            role
            for slug, role in (link.team_roles or {}).items()
            if (github_org, str(slug).lower()) in my_teams
        ]
        wanted[link.organization_id] = _strongest(team_roles) or link.default_role
    apply(user=user, source=Source.GITHUB, wanted=wanted, managed=managed)
