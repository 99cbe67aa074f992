"""Who may see and change a secret's values: a member, or an admin for cluster credentials.

Viewers never read values. A type may ask for more (``SecretType.values_role``): the values
of ``kubernetes`` secrets are the clusters' credentials, so only admins read, write or
delete them; members see their metadata, as viewers do.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from orgs.models import Membership, Role
from secrets_app.types import REGISTRY


def values_role(type_name: str) -> str:
    stype = REGISTRY.get(type_name)
    return stype.values_role if stype is not None else Role.MEMBER


def may_use_values(membership: Membership, type_name: str) -> bool:
    return Role.allows(membership.role, values_role(type_name))


def require_values_role(membership: Membership, type_name: str) -> None:
    """PermissionDenied unless the membership may read and change values of this type."""
    needed = values_role(type_name)
    if not Role.allows(membership.role, needed):
        what = "values" if needed == Role.MEMBER else f"values of {type_name} secrets"
        raise PermissionDenied(f"Reading or changing {what} needs the {needed} role.")
