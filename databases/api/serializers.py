"""The database API's bodies. Requests are checked for shape here and for meaning in the
services (which name every wrong field); answers never carry a root password, and an
issued password only in the answer of the call that issued it."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from clusters.api.serializers import InstallResultSerializer, WorkloadSerializer
from databases.models import DatabaseConnection, DatabaseRole
from orgs.api.serializers import GivenCharField, UtcDateTimeField
from secrets_app.api.serializers import StrictStringField

TTL_HELP = "Seconds (at most 30 days)."


class ConnectionSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    engine = serializers.ChoiceField(choices=DatabaseConnection.Engine.values)
    host = serializers.CharField()
    port = serializers.IntegerField()
    database = serializers.CharField()
    username = serializers.CharField(help_text="The root user (its password is never shown).")
    tlsMode = serializers.ChoiceField(source="tls_mode", choices=DatabaseConnection.TlsMode.values)
    rootRotatedAt = UtcDateTimeField(
        source="root_rotated_at",
        allow_null=True,
        help_text="When the root password was rotated: since then only OpenBao knows it.",
    )
    createdBy = serializers.CharField(source="created_by")
    createdAt = UtcDateTimeField(source="created_at")


class ConnectionCreateSerializer(serializers.Serializer):
    name = StrictStringField(max_length=63, help_text="Letters, digits, '_' and '-'.")
    engine = serializers.ChoiceField(choices=DatabaseConnection.Engine.values)
    host = StrictStringField(max_length=253)
    port = serializers.IntegerField(required=False, help_text="Default: the engine's.")
    database = StrictStringField(max_length=63)
    username = StrictStringField(max_length=63, help_text="A user that may create users.")
    password = StrictStringField(
        max_length=1024, trim_whitespace=False, write_only=True, help_text="Sent to OpenBao only."
    )
    tlsMode = serializers.ChoiceField(
        choices=DatabaseConnection.TlsMode.values, default=DatabaseConnection.TlsMode.REQUIRE
    )


class ConnectionUpdateSerializer(serializers.Serializer):
    name = StrictStringField(max_length=63, required=False)
    host = StrictStringField(max_length=253, required=False)
    port = serializers.IntegerField(required=False)
    database = StrictStringField(max_length=63, required=False)
    username = StrictStringField(max_length=63, required=False)
    password = StrictStringField(
        max_length=1024, trim_whitespace=False, required=False, help_text="A new root password."
    )
    tlsMode = serializers.ChoiceField(choices=DatabaseConnection.TlsMode.values, required=False)


class RoleSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    connectionId = serializers.IntegerField(source="connection_id")
    connection = serializers.CharField(source="connection.name")
    name = serializers.CharField()
    preset = serializers.ChoiceField(choices=DatabaseRole.Preset.values)
    schema = serializers.CharField(help_text="PostgreSQL: the schema the preset grants on.")
    creationStatements = serializers.ListField(
        source="creation_statements", child=serializers.CharField()
    )
    revocationStatements = serializers.ListField(
        source="revocation_statements", child=serializers.CharField()
    )
    defaultTtl = serializers.IntegerField(source="default_ttl", help_text=TTL_HELP)
    maxTtl = serializers.IntegerField(source="max_ttl", help_text=TTL_HELP)
    createdBy = serializers.CharField(source="created_by")
    createdAt = UtcDateTimeField(source="created_at")


class RoleWriteSerializer(serializers.Serializer):
    name = StrictStringField(max_length=63, required=False)
    preset = serializers.ChoiceField(
        choices=DatabaseRole.Preset.values,
        required=False,
        help_text="read-only, read-write, owner (on a schema), or custom statements.",
    )
    schema = StrictStringField(max_length=63, required=False, allow_blank=True)
    defaultTtl = serializers.IntegerField(required=False, help_text=TTL_HELP)
    maxTtl = serializers.IntegerField(required=False, help_text=TTL_HELP)
    creationStatements = serializers.ListField(
        child=StrictStringField(max_length=4000),
        required=False,
        help_text="Custom only: SQL run to create the user; {{name}}, {{password}}, "
        "{{expiration}} are filled in by the engine.",
    )
    revocationStatements = serializers.ListField(
        child=StrictStringField(max_length=4000), required=False, help_text="Custom only."
    )


class LeaseSerializer(serializers.Serializer):
    leaseId = serializers.CharField(source="public_id")
    roleId = serializers.IntegerField(source="role_id")
    username = serializers.CharField()
    purpose = serializers.ChoiceField(choices=["issue", "install"])
    issuedBy = serializers.CharField(source="issued_by")
    issuedAt = UtcDateTimeField(source="issued_at")
    expiresAt = UtcDateTimeField(source="expires_at")
    maxExpiresAt = UtcDateTimeField(source="max_expires_at")
    revokedAt = UtcDateTimeField(source="revoked_at", allow_null=True)


class CredentialsSerializer(LeaseSerializer):
    password = GivenCharField(help_text="Shown in this answer only; the product keeps no copy.")


class InstallRequestSerializer(serializers.Serializer):
    clusterId = serializers.IntegerField()
    namespace = StrictStringField(max_length=63)
    name = StrictStringField(
        max_length=253, required=False, help_text="The Secret's name (default: derived)."
    )
    workloads = serializers.ListField(child=WorkloadSerializer(), required=False, max_length=20)


class InstallSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    roleId = serializers.IntegerField(source="role_id")
    clusterId = serializers.IntegerField(source="cluster_id")
    cluster = serializers.CharField(source="cluster.name")
    namespace = serializers.CharField()
    secretId = serializers.CharField(source="secret_id")
    status = serializers.CharField()
    createdAt = UtcDateTimeField(source="created_at")
    replacedAt = UtcDateTimeField(source="replaced_at", allow_null=True)


class InstallResponseSerializer(serializers.Serializer):
    install = InstallSerializer()
    results = InstallResultSerializer(many=True)


def role_changes(data: dict[str, Any]) -> dict[str, Any]:
    """A role body's fields under the services' names."""
    names = {
        "defaultTtl": "default_ttl",
        "maxTtl": "max_ttl",
        "creationStatements": "creation_statements",
        "revocationStatements": "revocation_statements",
    }
    return {names.get(key, key): value for key, value in data.items()}
