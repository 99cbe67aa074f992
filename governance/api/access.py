"""Temporary access API: requests for a higher role, their decisions, and the grants they
make. Thin views over ``governance.access``; bodies are checked for shape here and for
meaning in the services (which name every wrong field)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from governance import access
from governance.models import AccessGrant, AccessRequest
from orgs.api.serializers import UtcDateTimeField
from orgs.models import Role
from orgs.scoping import OrgScopedAPIView
from pipeline_secrets.core.api.schema import ORG_ID, errors, id_parameter
from secrets_app.api.serializers import StrictStringField

REQUEST_ID = id_parameter("access_request_id", "accessRequestId")
GRANT_ID = id_parameter("access_grant_id", "accessGrantId")
TAGS = ["access"]
SCOPE_HELP = "`secret` (secretId), `tag` (tag) or `organization` (neither given)."


def scope_of(row: AccessRequest | AccessGrant) -> str:
    return "secret" if row.secret_id else "tag" if row.tag else "organization"


class AccessRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    username = serializers.CharField(source="user.username", help_text="Who asks.")
    role = serializers.ChoiceField(choices=Role.choices)
    scope = serializers.SerializerMethodField(help_text=SCOPE_HELP)
    secretId = serializers.CharField(source="secret_id")
    tag = serializers.CharField()
    duration = serializers.SerializerMethodField(help_text="As asked, e.g. `4h`.")
    durationSeconds = serializers.IntegerField(source="duration_seconds")
    reason = serializers.CharField()
    status = serializers.ChoiceField(choices=AccessRequest.Status.values)
    createdAt = UtcDateTimeField(source="created_at")
    decidedAt = UtcDateTimeField(source="decided_at", allow_null=True)
    decidedBy = serializers.CharField(source="decided_by")

    def get_scope(self, row: AccessRequest) -> str:
        return scope_of(row)

    def get_duration(self, row: AccessRequest) -> str:
        return access.format_duration(row.duration_seconds)


class AccessRequestCreateSerializer(serializers.Serializer):
    role = StrictStringField(help_text="A role above yours: `member` or `admin`.")
    secretId = StrictStringField(required=False, allow_blank=True, help_text="One secret.")
    tag = StrictStringField(required=False, allow_blank=True, help_text="The secrets with a tag.")
    duration = StrictStringField(help_text="From `15m` to `7d` (units s, m, h, d), e.g. `4h`.")
    reason = StrictStringField(max_length=access.MAX_REASON)


class AccessApproveSerializer(serializers.Serializer):
    duration = StrictStringField(
        required=False, allow_blank=True, help_text="Shorter than asked (never longer)."
    )


class AccessGrantSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    username = serializers.CharField(source="user.username", help_text="Who holds it.")
    role = serializers.ChoiceField(choices=Role.choices)
    scope = serializers.SerializerMethodField(help_text=SCOPE_HELP)
    secretId = serializers.CharField(source="secret_id")
    tag = serializers.CharField()
    reason = serializers.CharField()
    grantedBy = serializers.CharField(source="granted_by")
    requestId = serializers.IntegerField(source="request_id", allow_null=True)
    startsAt = UtcDateTimeField(source="starts_at")
    expiresAt = UtcDateTimeField(source="expires_at")
    revokedAt = UtcDateTimeField(source="revoked_at", allow_null=True)
    revokedBy = serializers.CharField(source="revoked_by")
    state = serializers.SerializerMethodField(help_text="`live`, `expired` or `revoked`, now.")

    def get_scope(self, row: AccessGrant) -> str:
        return scope_of(row)

    def get_state(self, row: AccessGrant) -> str:
        return access.grant_state(row)


def valid(serializer: serializers.Serializer) -> dict[str, Any]:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class AccessRequestListView(OrgScopedAPIView):
    policy_actions = {"GET": "access.request", "POST": "access.request"}

    @extend_schema(
        operation_id="listAccessRequests",
        tags=TAGS,
        parameters=[
            ORG_ID,
            OpenApiParameter("status", str, enum=AccessRequest.Status.values),
        ],
        responses={200: AccessRequestSerializer(many=True), **errors(400, 403, 404)},
        description="Admins see every request of the org; anyone else their own.",
    )
    def get(self, request: Request, org_id: int) -> Response:
        found = access.request_list(
            membership=self.membership, status=request.query_params.get("status") or None
        )
        return Response(AccessRequestSerializer(found, many=True).data)

    @extend_schema(
        operation_id="requestAccess",
        tags=TAGS,
        parameters=[ORG_ID],
        request=AccessRequestCreateSerializer,
        responses={201: AccessRequestSerializer, **errors(400, 403, 404)},
        description=(
            "Asks for a role above yours on one secret, the secrets with a tag, or the whole "
            "org, for a while and with a reason. The org's admins are notified."
        ),
    )
    def post(self, request: Request, org_id: int) -> Response:
        data = valid(AccessRequestCreateSerializer(data=request.data))
        row = access.access_request_create(
            actor=self.membership,
            role=data["role"],
            secret_id=data.get("secretId", ""),
            tag=data.get("tag", ""),
            duration=data["duration"],
            reason=data["reason"],
        )
        return Response(AccessRequestSerializer(row).data, status=status.HTTP_201_CREATED)


class AccessRequestDecisionView(OrgScopedAPIView):
    policy_actions = {"POST": "access.decide"}

    def access_request(self, access_request_id: int) -> AccessRequest:
        return access.request_get(membership=self.membership, request_id=access_request_id)


class AccessApproveView(AccessRequestDecisionView):
    @extend_schema(
        operation_id="approveAccessRequest",
        tags=TAGS,
        parameters=[ORG_ID, REQUEST_ID],
        request=AccessApproveSerializer,
        responses={201: AccessGrantSerializer, **errors(400, 403, 404, 409)},
        description=(
            "Grants the request from now on, for its duration or a shorter one (admins other "
            "than the requester). It ends by itself at expiry."
        ),
    )
    def post(self, request: Request, org_id: int, access_request_id: int) -> Response:
        data = valid(AccessApproveSerializer(data=request.data))
        grant = access.access_request_approve(
            actor=self.membership,
            access_request=self.access_request(access_request_id),
            duration=data.get("duration"),
        )
        return Response(AccessGrantSerializer(grant).data, status=status.HTTP_201_CREATED)


class AccessRejectView(AccessRequestDecisionView):
    @extend_schema(
        operation_id="rejectAccessRequest",
        tags=TAGS,
        parameters=[ORG_ID, REQUEST_ID],
        request=None,
        responses={200: AccessRequestSerializer, **errors(403, 404, 409)},
        description="Refuses the request (admins other than the requester).",
    )
    def post(self, request: Request, org_id: int, access_request_id: int) -> Response:
        row = access.access_request_reject(
            actor=self.membership, access_request=self.access_request(access_request_id)
        )
        return Response(AccessRequestSerializer(row).data)


class AccessGrantListView(OrgScopedAPIView):
    policy_actions = {"GET": "access.request"}

    @extend_schema(
        operation_id="listAccessGrants",
        tags=TAGS,
        parameters=[
            ORG_ID,
            OpenApiParameter("live", bool, description="Only the grants in force now."),
        ],
        responses={200: AccessGrantSerializer(many=True), **errors(403, 404)},
        description="Admins see every grant of the org; anyone else their own.",
    )
    def get(self, request: Request, org_id: int) -> Response:
        live = request.query_params.get("live", "").lower() in ("1", "true", "yes")
        found = access.grant_list(membership=self.membership, live=live)
        return Response(AccessGrantSerializer(found, many=True).data)


class AccessGrantDetailView(OrgScopedAPIView):
    policy_actions = {"DELETE": "access.decide"}

    @extend_schema(
        operation_id="revokeAccessGrant",
        tags=TAGS,
        parameters=[ORG_ID, GRANT_ID],
        responses={204: None, **errors(403, 404, 409)},
        description="Ends a live grant now (admins).",
    )
    def delete(self, request: Request, org_id: int, access_grant_id: int) -> Response:
        grant = access.grant_get(membership=self.membership, grant_id=access_grant_id)
        access.access_grant_revoke(actor=self.membership, grant=grant)
        return Response(status=status.HTTP_204_NO_CONTENT)
