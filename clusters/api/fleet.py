"""The fleet in the API: every cluster with how its copies stand (``clusters.fleet``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from clusters import fleet
from clusters.api.serializers import MODE_HELP
from clusters.models import Cluster, DriftEvent
from orgs.api.serializers import UtcDateTimeField
from orgs.scoping import OrgScopedAPIView
from pipeline_secrets.core.api.schema import ORG_ID, errors


# Reads a ``clusters.models.DriftEvent``.
class DriftEventSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    name = serializers.CharField(source="kube_name", help_text="The managed Secret's name.")
    change = serializers.ChoiceField(choices=DriftEvent.Change.values)
    repaired = serializers.BooleanField(help_text="Whether the agent restored it.")
    detectedAt = UtcDateTimeField(source="detected_at")


# Reads a ``clusters.fleet.InstallationCounts``.
class FleetInstallationsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    current = serializers.IntegerField(help_text="Installed at the secret's current version.")
    behind = serializers.IntegerField(help_text="At an older version than the secret's.")
    pending = serializers.IntegerField(help_text="Waiting to be brought up to date.")
    failed = serializers.IntegerField()


# Reads a ``clusters.fleet.SyncCounts``.
class FleetSyncsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="SecretSync objects in an agent cluster.")
    ready = serializers.IntegerField()
    notReady = serializers.IntegerField(source="not_ready")


# Reads a ``clusters.fleet.Drift``.
class FleetDriftSerializer(serializers.Serializer):
    last24h = serializers.IntegerField(help_text="Drift events of the last 24 hours.")
    recent = DriftEventSerializer(many=True, help_text="The latest ten, newest first.")


# Reads a ``clusters.fleet.FleetEntry``.
class FleetEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="cluster.pk")
    name = serializers.CharField(source="cluster.name")
    mode = serializers.ChoiceField(
        source="cluster.mode", choices=Cluster.Mode.values, help_text=MODE_HELP
    )
    reachable = serializers.BooleanField(
        allow_null=True,
        help_text="Agent: it called within two heartbeats (AGENT_HEARTBEAT_SECONDS, 30 s by "
        "default); kubeconfig: its last check (null: never checked).",
    )
    lastSeen = UtcDateTimeField(
        source="last_seen",
        allow_null=True,
        help_text="Agent: its last call; kubeconfig: the last check that reached it.",
    )
    agentVersion = serializers.CharField(source="cluster.agent_version")
    installations = FleetInstallationsSerializer()
    syncs = FleetSyncsSerializer()
    drift = FleetDriftSerializer()


class FleetView(OrgScopedAPIView):
    policy_actions = {"GET": "cluster.list"}

    @extend_schema(
        operation_id="getFleet",
        tags=["clusters"],
        parameters=[ORG_ID],
        responses={200: FleetEntrySerializer(many=True), **errors(403, 404)},
        description=(
            "Every cluster of the organization, by name: its mode, whether it answers, its "
            "installations counted against the current versions of their secrets (applied "
            "vs current, pending, failed), its SecretSync objects and the drift its agent "
            "reported."
        ),
    )
    def get(self, request: Request, org_id: int) -> Response:
        entries = fleet.fleet(organization=self.organization)
        return Response(FleetEntrySerializer(entries, many=True).data)
