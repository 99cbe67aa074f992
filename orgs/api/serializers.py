"""Request parsing and response shapes of the organizations, members and tokens API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orgs.models import ApiToken, AuditEvent, Membership, Role


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


class OrganizationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices, help_text="Your role in it.")
    createdAt = serializers.DateTimeField()


class OrganizationCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


@extend_schema_field({"$ref": "#/components/schemas/RoleEnum"})
class RoleLimitField(serializers.ChoiceField):
    """A role limit (or null), documented as the same ``RoleEnum`` as every other role."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Role.choices, allow_null=True, **kwargs)


def organization_json(membership: Membership) -> dict[str, Any]:
    org = membership.organization
    return {
        "id": org.pk,
        "name": org.name,
        "role": membership.role,
        "createdAt": _iso(org.created_at),
    }


class MemberSerializer(serializers.Serializer):
    userId = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)
    createdAt = serializers.DateTimeField()


class MemberAddSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


def member_json(membership: Membership) -> dict[str, Any]:
    return {
        "userId": membership.user_id,
        "username": membership.user.username,
        "role": membership.role,
        "createdAt": _iso(membership.created_at),
    }


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The start of the token, to recognise it.")
    createdAt = serializers.DateTimeField()
    expiresAt = serializers.DateTimeField(allow_null=True)
    revokedAt = serializers.DateTimeField(allow_null=True)
    lastUsedAt = serializers.DateTimeField(allow_null=True)
    organization = serializers.IntegerField(
        allow_null=True, help_text="The only organization the token works in; null: all yours."
    )
    maxRole = RoleLimitField(
        help_text="The token never acts above this role; null: your role in each organization.",
    )


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The token itself; shown this once only.")


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


def token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "createdAt": _iso(token.created_at),
        "expiresAt": _iso(token.expires_at),
        "revokedAt": _iso(token.revoked_at),
        "lastUsedAt": _iso(token.last_used_at),
        "organization": token.organization_id,
        "maxRole": token.max_role or None,
    }


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.CharField()
    action = serializers.CharField(help_text="e.g. secret.create, secret.read, cluster.install")
    targetType = serializers.CharField()
    targetId = serializers.CharField()
    targetName = serializers.CharField()
    detail = serializers.DictField(help_text="Ids, names, versions, roles; never values.")


def audit_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "at": _iso(event.created_at),
        "actor": event.actor,
        "action": event.action,
        "targetType": event.target_type,
        "targetId": event.target_id,
        "targetName": event.target_name,
        "detail": event.detail,
    }
