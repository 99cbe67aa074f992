"""Response shapes of the audit trail and the security log."""

from __future__ import annotations

from rest_framework import serializers

from orgs.api.serializers import UtcDateTimeField


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    at = UtcDateTimeField(source="created_at")
    actor = serializers.CharField()
    action = serializers.CharField(help_text="e.g. secret.create, secret.read, cluster.install")
    targetType = serializers.CharField(source="target_type")
    targetId = serializers.CharField(source="target_id")
    targetName = serializers.CharField(source="target_name")
    detail = serializers.DictField(help_text="Ids, names, versions, roles; never values.")


class SecurityEventSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    at = UtcDateTimeField(source="created_at")
    action = serializers.CharField(help_text="signin, signin.fail, signin.locked, identity.link")
    actor = serializers.CharField(help_text="The name used (or the account's username).")
    detail = serializers.DictField(help_text="How: the sign-in source; never a password.")
