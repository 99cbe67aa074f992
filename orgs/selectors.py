"""Reads for organizations, memberships and tokens."""

from __future__ import annotations

from django.db.models import QuerySet

from orgs.models import ApiToken, Membership, Organization, User


def organizations_for_user(*, user: User) -> QuerySet[Membership]:
    """The user's memberships with their organizations, by organization name."""
    return (
        Membership.objects.filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )


def member_list(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.for_org(organization).select_related("user")


def member_get(*, organization: Organization, user_id: int) -> Membership:
    from pipeline_secrets.core.errors import NotFoundError

    membership = member_list(organization=organization).filter(user_id=user_id).first()
    if membership is None:
        raise NotFoundError("Member not found.")
    return membership


def token_list(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.for_user(user)
