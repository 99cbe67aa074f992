"""Request parsing and response shapes of the clusters API.

Every answer is the ``.data`` of the serializer its operation documents: the OpenAPI
document and the output are one definition.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.fields import SkipField

from orgs.api.serializers import UtcDateTimeField
from secrets_app.api.serializers import StrictStringField


# Reads a ``Cluster``.
class ClusterSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    secretId = serializers.CharField(
        source="kubeconfig_secret_id", help_text="The kubernetes secret holding its kubeconfig."
    )
    reachable = serializers.BooleanField(allow_null=True)
    serverVersion = serializers.CharField(source="server_version")
    checkedAt = UtcDateTimeField(source="checked_at", allow_null=True)
    lastError = serializers.CharField(source="last_error")
    createdAt = UtcDateTimeField(source="created_at")
    createdBy = serializers.CharField(source="created_by")


class ClusterCreateSerializer(serializers.Serializer):
    name = StrictStringField(max_length=63, help_text="A DNS-1123 label.")
    secretId = StrictStringField(required=False, help_text="Id of a kubernetes secret.")
    kubeconfig = StrictStringField(
        required=False,
        trim_whitespace=False,
        help_text="A kubeconfig (YAML or base64); stored as a kubernetes secret.",
    )


class InstallQuerySerializer(serializers.Serializer):
    type = StrictStringField(required=False)
    tag = StrictStringField(required=False, help_text="One tag (as in the original API).")
    tags = serializers.ListField(child=StrictStringField(), required=False, default=list)
    ids = serializers.ListField(child=StrictStringField(), required=False, default=list)


class InstallSerializer(serializers.Serializer):
    namespace = StrictStringField(trim_whitespace=False, help_text="Created when missing.")
    query = InstallQuerySerializer()
    overwrite = serializers.BooleanField(
        default=False,
        help_text="Replace Secrets of the same name this product does not manage (admin role).",
    )
    ttl = serializers.IntegerField(
        required=False, allow_null=True, help_text="Seconds until the installed copies are removed."
    )


class OmittedWhenEmptyCharField(serializers.CharField):
    """Text left out of the answer when empty."""

    def get_attribute(self, instance: Any) -> Any:
        value = super().get_attribute(instance)
        if not value:
            raise SkipField()
        return value


# Reads a ``clusters.batch.ItemResult``.
class InstallResultSerializer(serializers.Serializer):
    name = serializers.CharField()
    sourcing = serializers.ChoiceField(choices=["env", "volume"])
    status = serializers.ChoiceField(choices=["installed", "updated", "unchanged", "failed"])
    namespace = serializers.CharField()
    error = OmittedWhenEmptyCharField(required=False, help_text="Only on a failed item.")


# Reads an ``Installation``.
class InstallationSerializer(serializers.Serializer):
    name = serializers.CharField(source="kube_name", help_text="The v1.Secret's name.")
    namespace = serializers.CharField()
    secretId = serializers.CharField(source="secret_id")
    version = serializers.IntegerField()
    sourcing = serializers.CharField()
    status = serializers.CharField()
    installedBy = serializers.CharField(source="installed_by")
    installedAt = UtcDateTimeField(source="installed_at")
    expiresAt = UtcDateTimeField(source="expires_at", allow_null=True)
    lastError = serializers.CharField(source="last_error")
