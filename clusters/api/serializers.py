"""Request parsing and response shapes of the clusters API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from clusters.models import Cluster, Installation
from secrets_app.api.serializers import StrictStringField


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


class ClusterSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    secretId = serializers.CharField(help_text="The kubernetes secret holding its kubeconfig.")
    reachable = serializers.BooleanField(allow_null=True)
    serverVersion = serializers.CharField()
    checkedAt = serializers.DateTimeField(allow_null=True)
    lastError = serializers.CharField()
    createdAt = serializers.DateTimeField()
    createdBy = serializers.CharField()


class ClusterCreateSerializer(serializers.Serializer):
    name = StrictStringField(max_length=63, help_text="A DNS-1123 label.")
    secretId = StrictStringField(required=False, help_text="Id of a kubernetes secret.")
    kubeconfig = StrictStringField(
        required=False,
        trim_whitespace=False,
        help_text="A kubeconfig (YAML or base64); stored as a kubernetes secret.",
    )


def cluster_json(cluster: Cluster) -> dict[str, Any]:
    return {
        "id": cluster.pk,
        "name": cluster.name,
        "secretId": cluster.kubeconfig_secret_id,
        "reachable": cluster.reachable,
        "serverVersion": cluster.server_version,
        "checkedAt": _iso(cluster.checked_at),
        "lastError": cluster.last_error,
        "createdAt": _iso(cluster.created_at),
        "createdBy": cluster.created_by,
    }


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


class InstallResultSerializer(serializers.Serializer):
    name = serializers.CharField()
    sourcing = serializers.ChoiceField(choices=["env", "volume"])
    status = serializers.ChoiceField(choices=["installed", "updated", "unchanged", "failed"])
    namespace = serializers.CharField()
    error = serializers.CharField(required=False)


class InstallationSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The v1.Secret's name.")
    namespace = serializers.CharField()
    secretId = serializers.CharField()
    version = serializers.IntegerField()
    sourcing = serializers.CharField()
    status = serializers.CharField()
    installedBy = serializers.CharField()
    installedAt = serializers.DateTimeField()
    expiresAt = serializers.DateTimeField(allow_null=True)
    lastError = serializers.CharField()


def installation_json(item: Installation) -> dict[str, Any]:
    return {
        "name": item.kube_name,
        "namespace": item.namespace,
        "secretId": item.secret_id,
        "version": item.version,
        "sourcing": item.sourcing,
        "status": item.status,
        "installedBy": item.installed_by,
        "installedAt": _iso(item.installed_at),
        "expiresAt": _iso(item.expires_at),
        "lastError": item.last_error,
    }
