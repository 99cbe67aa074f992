"""Temporary access in the policy: the grant source ``orgs.policy`` asks when a membership's
own role falls short (registered in ``governance.access_setup``). A grant's start and expiry
are compared with ``governance.access.clock()`` at each use: no job ends a grant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governance import access
from governance.models import AccessGrant
from orgs import policy
from orgs.models import Membership, Role
from secrets_app.models import SecretIndex


def covers(grant_secret: str, grant_tag: str, obj: Any, organization_id: int) -> bool:
    """Whether a grant on ``grant_secret`` / ``grant_tag`` (neither: the whole org) covers
    ``obj``: a secret grant its secret (``obj.secret_id``, also the secret a route names), a
    tag grant the objects carrying the tag (``obj.tags``), an org grant anything of the org
    (and ``None``: the action in general)."""
    if getattr(obj, "organization_id", organization_id) != organization_id:
        return False
    if grant_secret:
        return getattr(obj, "secret_id", None) == grant_secret
    if grant_tag:
        return grant_tag in tags_of(obj)
    return True


def tags_of(obj: Any) -> list[str]:
    """The tags of ``obj``; of the secret a route names, read from the index."""
    if isinstance(obj, policy.RouteTarget):
        found = SecretIndex.objects.filter(
            organization_id=obj.organization_id, secret_id=obj.secret_id
        ).values_list("tags", flat=True)
        return list(found.first() or [])
    return list(getattr(obj, "tags", None) or [])


@dataclass(frozen=True)
class Held:
    """A grant as the policy's hook keeps it: what it lifts to, where, and when."""

    role: str
    secret_id: str
    tag: str
    starts_at: datetime
    expires_at: datetime

    def live(self, now: datetime) -> bool:
        return self.starts_at <= now < self.expires_at


# The grants of a membership object, read once per object (a request's membership is asked
# for every tab, row and value) and kept on it, so they go with it; each use still compares
# them with the clock, so a grant ends at its expiry.
CACHE = "governance_held_grants"


def held(membership: Membership) -> list[Held]:
    """The grants ``membership`` holds, unrevoked and not yet expired when first asked."""
    found: list[Held] | None = getattr(membership, CACHE, None)
    if found is None:
        rows = AccessGrant.objects.filter(
            organization_id=membership.organization_id,
            user_id=membership.user_id,
            revoked_at__isnull=True,
            expires_at__gt=access.clock(),
        ).values_list("role", "secret_id", "tag", "starts_at", "expires_at")
        found = [Held(*row) for row in rows]
        setattr(membership, CACHE, found)
    return found


def grant_lifts(membership: Membership, action: str, obj: Any, needed: str) -> bool:
    """The policy's grant source: whether a grant live at ``access.clock()`` gives
    ``membership`` the role ``needed`` for ``obj`` (asked only when the role falls short)."""
    now = access.clock()
    return any(
        grant.live(now)
        and Role.allows(grant.role, needed)
        and covers(grant.secret_id, grant.tag, obj, membership.organization_id)
        for grant in held(membership)
    )
