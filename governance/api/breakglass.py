"""Break-glass API: the flagged read of values one's role would not read, the list of
break-glass events and their acknowledgement. Thin views over ``governance.breakglass``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from governance import breakglass
from governance.models import BreakGlass
from orgs.api.serializers import UtcDateTimeField
from orgs.scoping import OrgScopedAPIView
from pipeline_secrets.core.api.params import flag
from pipeline_secrets.core.api.schema import ORG_ID, errors, id_parameter, secret_id_parameter
from secrets_app import selectors
from secrets_app.api.serializers import (
    SecretItemSerializer,
    StrictStringField,
    secret_item_data,
)

TAGS = ["break-glass"]
SECRET_ID = secret_id_parameter(description="secretId (hex SHA-256 of the name)")
BREAKGLASS_ID = id_parameter("breakglass_id", "The break-glass event's id.")


class BreakGlassSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    secretId = serializers.CharField(source="secret_id")
    secretName = serializers.CharField(source="secret_name")
    username = serializers.CharField(help_text="Who broke glass.")
    justification = serializers.CharField()
    createdAt = UtcDateTimeField(source="created_at")
    flagged = serializers.SerializerMethodField(
        help_text="True until an admin acknowledges the event."
    )
    acknowledgedAt = UtcDateTimeField(source="acknowledged_at", allow_null=True)
    acknowledgedBy = serializers.CharField(source="acknowledged_by")

    def get_flagged(self, instance: BreakGlass) -> bool:
        return instance.acknowledged_at is None


class RevealRequestSerializer(serializers.Serializer):
    justification = StrictStringField(
        min_length=breakglass.JUSTIFICATION_MIN,
        max_length=breakglass.JUSTIFICATION_MAX,
        help_text="Why you need these values; the admins read it.",
    )


class RevealSerializer(SecretItemSerializer):
    breakGlass = BreakGlassSerializer(help_text="The flagged record of this reveal.")


class RevealView(OrgScopedAPIView):
    policy_actions = {"POST": "breakglass.reveal"}

    @extend_schema(
        operation_id="breakGlassReveal",
        tags=TAGS,
        parameters=[ORG_ID, SECRET_ID],
        request=RevealRequestSerializer,
        responses={200: RevealSerializer, **errors(400, 403, 404, 409, 503)},
        description=(
            "Break-glass: the values of a secret your role would not read (a viewer's, or a "
            "member's of a kubernetes or pkecert secret), with a justification, when the "
            "organization allows it (protection `breakGlass: true`; otherwise 403). The read "
            "is flagged in the audit trail until an admin acknowledges it, and every admin is "
            "told at once (mail, and the org's notification targets). When your role reads "
            "the values already, the answer is 409: use the normal read."
        ),
    )
    def post(self, request: Request, org_id: int, secret_id: str) -> Response:
        row = selectors.secret_row(organization=self.organization, secret_id=secret_id)
        body = RevealRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        revealed = breakglass.reveal(
            membership=self.membership,
            row=row,
            justification=body.validated_data["justification"],
            base_url=request.build_absolute_uri("/"),
        )
        data: dict[str, Any] = secret_item_data(revealed.row, revealed.values)
        data["version"] = revealed.version
        data["breakGlass"] = BreakGlassSerializer(revealed.event).data
        return Response(data)


OPEN = OpenApiParameter(
    "open", OpenApiTypes.BOOL, description="Only the events not yet acknowledged (flagged)."
)


class BreakGlassListView(OrgScopedAPIView):
    policy_actions = {"GET": "activity.view"}

    @extend_schema(
        operation_id="listBreakGlass",
        tags=TAGS,
        parameters=[ORG_ID, OPEN],
        responses={200: BreakGlassSerializer(many=True), **errors(403, 404)},
        description="The organization's break-glass events, newest first (admins).",
    )
    def get(self, request: Request, org_id: int) -> Response:
        found = breakglass.event_list(
            organization=self.organization, open_only=flag(request, "open")
        )
        return Response(BreakGlassSerializer(found[:500], many=True).data)


class AcknowledgeView(OrgScopedAPIView):
    policy_actions = {"POST": "breakglass.acknowledge"}

    @extend_schema(
        operation_id="acknowledgeBreakGlass",
        tags=TAGS,
        parameters=[ORG_ID, BREAKGLASS_ID],
        request=None,
        responses={200: BreakGlassSerializer, **errors(403, 404)},
        description=(
            "Clears a break-glass event's flag (admins). Acknowledging it again changes "
            "nothing: the first acknowledgement stays."
        ),
    )
    def post(self, request: Request, org_id: int, breakglass_id: int) -> Response:
        event = breakglass.acknowledge(membership=self.membership, event_id=breakglass_id)
        return Response(BreakGlassSerializer(event).data)
