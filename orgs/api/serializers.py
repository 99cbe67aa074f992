"""Request parsing and response shapes of the organizations, members and tokens API.

Every answer is the ``.data`` of the serializer its operation documents: the OpenAPI
document and the output are one definition.
"""

from __future__ import annotations

import datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField

from orgs import invitations
from orgs.models import Invitation, Role


class UtcDateTimeField(serializers.DateTimeField):
    """A time as the API writes it: ISO 8601 in UTC with ``Z`` (null when unset)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=datetime.UTC, **kwargs)


def given(field: serializers.Field) -> Any:
    """The value of ``field`` given in its serializer's context under the field's name, for a
    value the object does not hold (a raw token, generated values); the field is left out of
    the answer when none is given."""
    context = field.context
    if field.field_name not in context:
        raise SkipField()
    return context[field.field_name]


class GivenCharField(serializers.CharField):
    def get_attribute(self, instance: Any) -> Any:
        return given(self)


# A membership, answered as its organization with your role in it.
class OrganizationSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="organization.pk")
    name = serializers.CharField(source="organization.name")
    role = serializers.ChoiceField(choices=Role.choices, help_text="Your role in it.")
    createdAt = UtcDateTimeField(source="organization.created_at")


class OrganizationCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


@extend_schema_field({"$ref": "#/components/schemas/RoleEnum"})
class RoleLimitField(serializers.ChoiceField):
    """A role limit (or null), documented as the same ``RoleEnum`` as every other role."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Role.choices, allow_null=True, **kwargs)

    def to_representation(self, value: Any) -> Any:
        # Stored as "" when there is no limit; answered as null.
        return super().to_representation(value) if value else None


class MemberSerializer(serializers.Serializer):
    userId = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=Role.choices)
    createdAt = UtcDateTimeField(source="created_at")


class MemberAddSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The start of the token, to recognise it.")
    createdAt = UtcDateTimeField(source="created_at")
    expiresAt = UtcDateTimeField(source="expires_at", allow_null=True)
    revokedAt = UtcDateTimeField(source="revoked_at", allow_null=True)
    lastUsedAt = UtcDateTimeField(source="last_used_at", allow_null=True)
    organization = serializers.IntegerField(
        source="organization_id",
        allow_null=True,
        help_text="The only organization the token works in; null: all yours.",
    )
    maxRole = RoleLimitField(
        source="max_role",
        help_text="The token never acts above this role; null: your role in each organization.",
    )


# A new token; the raw token is given in the context (``token``).
class TokenCreatedSerializer(TokenSerializer):
    token = GivenCharField(help_text="The token itself; shown this once only.")


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expiresAt = serializers.DateTimeField(required=False, allow_null=True)
    organization = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**63 - 1,
        help_text="Limit the token to this organization (one you belong to).",
    )
    maxRole = RoleLimitField(
        required=False,
        help_text="Limit the token to this role: `viewer` for a dashboard, `member` for CI.",
    )


class InvitationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.SerializerMethodField(
        help_text="The invited address; masked when an account was invited by username."
    )
    username = serializers.CharField(
        source="invitee.username",
        allow_null=True,
        help_text="The account invited by username (only it may accept); null: an address.",
    )
    role = serializers.ChoiceField(choices=Role.choices)
    state = serializers.ChoiceField(
        choices=["pending", "accepted", "revoked", "expired"],
        help_text="Only a pending invitation's link works.",
    )
    invitedBy = serializers.CharField(source="invited_by")
    createdAt = UtcDateTimeField(source="created_at")
    expiresAt = UtcDateTimeField(source="expires_at")
    acceptedAt = UtcDateTimeField(source="accepted_at", allow_null=True)
    revokedAt = UtcDateTimeField(source="revoked_at", allow_null=True)

    @extend_schema_field(OpenApiTypes.EMAIL)
    def get_email(self, invitation: Invitation) -> str:
        return invitations.shown_email(invitation)


class InvitationCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices)
