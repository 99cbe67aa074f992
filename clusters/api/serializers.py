"""Request parsing and response shapes of the clusters API.

Every answer is the ``.data`` of the serializer its operation documents: the OpenAPI
document and the output are one definition.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.fields import SkipField

from clusters.models import Cluster
from orgs.api.serializers import GivenCharField, UtcDateTimeField
from secrets_app.api.serializers import SecretSerializer, StrictStringField

NAMESPACE_PATTERNS_HELP = (
    "fnmatch patterns over namespace names (*, ?, [...]). Members install, uninstall and "
    "name workloads only in a namespace matching an allow pattern and no deny pattern; "
    "admins anywhere."
)


# Reads and writes a cluster's namespace rule (``clusters.namespaces``).
class NamespaceRuleSerializer(serializers.Serializer):
    allow = serializers.ListField(
        child=StrictStringField(max_length=63), help_text=NAMESPACE_PATTERNS_HELP
    )
    deny = serializers.ListField(
        child=StrictStringField(max_length=63, trim_whitespace=False, allow_blank=True),
        help_text="Default: kube-system, kube-public, kube-node-lease.",
    )


SCOPE_HELP = (
    "What an agent cluster may receive: the secrets named in `secrets` or tagged with one of "
    "`tags`, into the namespaces matching one of `namespaces` (fnmatch patterns); types whose "
    "values need the admin role (kubernetes, pkecert) never. Empty (the default): nothing."
)


def agent_only(instance: Any) -> None:
    """Leaves a member of agent clusters out of a kubeconfig cluster's answer."""
    if getattr(instance, "mode", None) != Cluster.Mode.AGENT:
        raise SkipField()


# Reads and writes an agent cluster's scope (``clusters.agent.scope.clean_scope`` checks it).
class ScopeSerializer(serializers.Serializer):
    namespaces = serializers.ListField(
        child=StrictStringField(max_length=63, trim_whitespace=False, allow_blank=True),
        required=False,
        help_text="fnmatch patterns over namespace names (*, ?, [...]).",
    )
    tags = serializers.ListField(
        child=StrictStringField(max_length=253, trim_whitespace=False, allow_blank=True),
        required=False,
    )
    secrets = serializers.ListField(
        child=StrictStringField(max_length=253, trim_whitespace=False, allow_blank=True),
        required=False,
        help_text="Secret names.",
    )

    def get_attribute(self, instance: Any) -> Any:
        agent_only(instance)
        return super().get_attribute(instance)


# Reads an agent cluster's agent: what it last said and its token's start.
class AgentStatusSerializer(serializers.Serializer):
    version = serializers.CharField(source="agent_version", help_text="As the agent reports it.")
    lastSeen = UtcDateTimeField(
        source="agent_seen_at", allow_null=True, help_text="The agent's last call."
    )
    tokenPrefix = serializers.CharField(
        source="agent_token_prefix", help_text="The token's first characters (empty: revoked)."
    )
    tokenCreatedAt = UtcDateTimeField(source="agent_token_created_at", allow_null=True)

    def get_attribute(self, instance: Any) -> Any:
        agent_only(instance)
        return super().get_attribute(instance)


MODE_HELP = (
    "kubeconfig: the server reaches the cluster with a kubeconfig; agent: an agent in the "
    "cluster calls the server (no kubeconfig here)."
)


# Reads a ``Cluster``.
class ClusterSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    mode = serializers.ChoiceField(choices=Cluster.Mode.values, help_text=MODE_HELP)
    secretId = serializers.CharField(
        source="kubeconfig_secret_id",
        help_text="The kubernetes secret holding its kubeconfig (empty for an agent cluster).",
    )
    reachable = serializers.BooleanField(allow_null=True)
    serverVersion = serializers.CharField(source="server_version")
    checkedAt = UtcDateTimeField(source="checked_at", allow_null=True)
    lastError = serializers.CharField(source="last_error")
    createdAt = UtcDateTimeField(source="created_at")
    createdBy = serializers.CharField(source="created_by")
    scope = ScopeSerializer(required=False, help_text="Agent clusters only. " + SCOPE_HELP)
    agent = AgentStatusSerializer(source="*", required=False, help_text="Agent clusters only.")


# Reads a ``Cluster`` just registered, with its agent's token (given in the context).
class ClusterCreatedSerializer(ClusterSerializer):
    agentToken = GivenCharField(
        required=False,
        help_text="Agent clusters only: the agent's token, shown this once (stored hashed).",
    )


class ClusterCreateSerializer(serializers.Serializer):
    name = StrictStringField(max_length=63, help_text="A DNS-1123 label.")
    mode = serializers.ChoiceField(
        choices=Cluster.Mode.values, default=Cluster.Mode.KUBECONFIG, help_text=MODE_HELP
    )
    secretId = StrictStringField(required=False, help_text="Id of a kubernetes secret.")
    kubeconfig = StrictStringField(
        required=False,
        trim_whitespace=False,
        help_text="A kubeconfig (YAML or base64); stored as a kubernetes secret.",
    )
    scope = ScopeSerializer(required=False, help_text="Agent mode only. " + SCOPE_HELP)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """What the mode allows: an agent cluster has no kubeconfig, only it has a scope."""
        agent = attrs["mode"] == Cluster.Mode.AGENT
        unwanted = ("secretId", "kubeconfig") if agent else ("scope",)
        errors = {
            key: f"Not with mode {attrs['mode']}." for key in unwanted if attrs.get(key) is not None
        }
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ClusterUpdateSerializer(serializers.Serializer):
    scope = ScopeSerializer(required=False, help_text="Replaces the scope. " + SCOPE_HELP)


class AgentTokenSerializer(serializers.Serializer):
    agentToken = serializers.CharField(help_text="Shown this once (stored hashed).")


class InstallQuerySerializer(serializers.Serializer):
    type = StrictStringField(required=False)
    tag = StrictStringField(required=False, help_text="One tag (as in the original API).")
    tags = serializers.ListField(child=StrictStringField(), required=False, default=list)
    ids = serializers.ListField(child=StrictStringField(), required=False, default=list)


class WorkloadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["Deployment", "StatefulSet", "DaemonSet"])
    name = StrictStringField(max_length=253)


WORKLOADS_HELP = (
    "Deployments, StatefulSets or DaemonSets of the namespace to restart when the installed "
    "copy's data changes (their pod template gets the annotation "
    "secrets.pipeline.io/restartedFor). Absent: keep the ones recorded; []: none."
)


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
    workloads = serializers.ListField(
        child=WorkloadSerializer(), required=False, max_length=20, help_text=WORKLOADS_HELP
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
    status = serializers.ChoiceField(
        choices=["installed", "updated", "unchanged", "failed", "pending", "held"],
        help_text="pending: an agent cluster's agent has not applied it within the wait the "
        "error states; it will when it next connects.",
    )
    namespace = serializers.CharField()
    error = OmittedWhenEmptyCharField(
        required=False, help_text="On a failed item: why; on a pending one: the wait given."
    )


# Built with inline_serializer because its key "source" clashes with a Field attribute; the
# class is made once so the schema has one component.
InstallSpecItemSerializer: type[serializers.Serializer] = type(
    inline_serializer(
        name="InstallSpecItem",
        fields={
            "source": StrictStringField(
                required=False, allow_blank=True, help_text="Copy this field of the secret."
            ),
            "value": StrictStringField(
                required=False,
                allow_blank=True,
                trim_whitespace=False,
                help_text="This text (kept only in the cluster: a re-sync keeps what is there).",
            ),
            "sourceMap": serializers.DictField(
                child=StrictStringField(),
                required=False,
                help_text="A JSON object of these fields ({name: field}) under the key.",
            ),
        },
    )
)


class InstallOneSerializer(serializers.Serializer):
    """The body of an install and of a merge (PATCH): a whole body both times, as the
    original's; so never partial, and the schema does not document a partial one."""

    @property  # type: ignore[override]
    def partial(self) -> bool:
        return False

    @partial.setter
    def partial(self, value: bool) -> None:
        pass

    namespace = StrictStringField(trim_whitespace=False, help_text="Created when missing (POST).")
    sourceSecretName = StrictStringField(
        required=False,
        help_text="The stored secret to install; by default the one named like the Secret.",
    )
    spec = serializers.DictField(
        child=InstallSpecItemSerializer(),
        required=False,
        allow_null=True,
        help_text=(
            "Data key -> item. Without it, every field but the opaque ones is a key "
            "(as the type installs it)."
        ),
    )
    workloads = serializers.ListField(
        child=WorkloadSerializer(), required=False, max_length=20, help_text=WORKLOADS_HELP
    )


# Reads a ``clusters.models.Installation``.
class InstallOneResponseSerializer(serializers.Serializer):
    name = serializers.CharField(source="kube_name", help_text="The v1.Secret's name.")


# Reads a ``clusters.selectors.InstalledSecret``: the secret as the secrets API shows it
# (values masked), and how it is installed in this cluster.
class ClusterSecretSerializer(SecretSerializer):
    namespace = serializers.CharField(source="installation.namespace")
    kubeName = serializers.CharField(
        source="installation.kube_name", help_text="The v1.Secret's name."
    )
    sourcing = serializers.ChoiceField(source="installation.sourcing", choices=["env", "volume"])
    status = serializers.ChoiceField(source="installation.status", choices=["installed", "failed"])
    installedVersion = serializers.IntegerField(
        source="installation.version", help_text="The version of the secret installed."
    )
    installedBy = serializers.CharField(source="installation.installed_by")
    installedAt = UtcDateTimeField(source="installation.installed_at")
    installExpiresAt = UtcDateTimeField(
        source="installation.expires_at",
        allow_null=True,
        help_text="When the installed copy is removed (ttl), if ever.",
    )
    merged = serializers.BooleanField(
        source="installation.merged",
        help_text="Its keys were merged into a Secret that holds other keys too.",
    )
    mappedKeys = serializers.SerializerMethodField(
        help_text="The data keys of a mapping (spec), if one was given."
    )
    lastError = serializers.CharField(source="installation.last_error")
    workloads = serializers.ListField(
        source="installation.workloads",
        child=WorkloadSerializer(),
        help_text="The workloads restarted when this copy's data changes.",
    )
    restartedAt = UtcDateTimeField(
        source="installation.restarted_at", allow_null=True, help_text="The last restart."
    )
    restartedFor = serializers.CharField(
        source="installation.restarted_for",
        help_text="The annotation the last restart set: SHA-256 of the secret id and version.",
    )
    restartError = serializers.CharField(
        source="installation.restart_error", help_text="What failed in the last restart."
    )

    def get_mappedKeys(self, obj: Any) -> list[str] | None:
        spec = obj.installation.spec
        return sorted(spec) if spec is not None else None
