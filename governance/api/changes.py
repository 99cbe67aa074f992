"""The protection and change-request API: thin views over ``governance.protection``,
``governance.changes`` and ``governance.changes_apply``."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from governance import changes, changes_apply, protection
from governance.models import ChangeRequest
from orgs.scoping import OrgScopedAPIView
from pipeline_secrets.core.api.schema import ORG_ID, errors, id_parameter

TAGS = ["governance"]
CHANGE_ID = id_parameter("change_id", "changeRequestId")
STATUS = OpenApiParameter(
    "status", str, enum=ChangeRequest.Status.values, description="Only requests in this status."
)


class ProtectionSerializer(serializers.Serializer[dict[str, object]]):
    tags = serializers.ListField(child=serializers.CharField())
    secrets = serializers.ListField(child=serializers.CharField())
    requiredApprovals = serializers.IntegerField(min_value=1)
    scheduledRotation = serializers.ChoiceField(choices=["allow", "hold"])
    breakGlass = serializers.BooleanField()


class ChangeRequestSerializer(serializers.Serializer[dict[str, object]]):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ChangeRequest.Status.values)
    kind = serializers.ChoiceField(choices=ChangeRequest.Kind.values)
    secretId = serializers.CharField()
    secretName = serializers.CharField()
    requestedBy = serializers.CharField()
    baseVersion = serializers.IntegerField()
    proposal = serializers.DictField(help_text="keys added, removed, changed; tags; no value")
    reason = serializers.CharField()
    createdAt = serializers.DateTimeField()
    expiresAt = serializers.DateTimeField()
    decidedAt = serializers.DateTimeField(allow_null=True)
    decidedBy = serializers.CharField()
    appliedVersion = serializers.IntegerField(allow_null=True)
    lastError = serializers.CharField()
    approvals = serializers.ListField(child=serializers.DictField())


class ProtectionView(OrgScopedAPIView):
    policy_actions = {"GET": "protection.manage", "PUT": "protection.manage"}

    @extend_schema(
        operation_id="getProtection",
        tags=TAGS,
        parameters=[ORG_ID],
        responses={200: ProtectionSerializer, **errors(403, 404)},
        description="The org's protection rule (the defaults when none was set).",
    )
    def get(self, request: Request, org_id: int) -> Response:
        return Response(protection.as_json(protection.protection_of(self.organization)))

    @extend_schema(
        operation_id="setProtection",
        tags=TAGS,
        parameters=[ORG_ID],
        request=ProtectionSerializer,
        responses={200: ProtectionSerializer, **errors(400, 403, 404)},
        description=(
            "Protect secrets by tag or id: their changes (update, rotate, rollback, delete, "
            "tag change) by anyone answer 202 with a change request instead of applying."
        ),
    )
    def put(self, request: Request, org_id: int) -> Response:
        found = protection.protection_set(
            membership=self.membership, organization=self.organization, data=request.data
        )
        return Response(protection.as_json(found))


class ChangeListView(OrgScopedAPIView):
    policy_actions = {"GET": "change.list"}

    @extend_schema(
        operation_id="listChangeRequests",
        tags=TAGS,
        parameters=[ORG_ID, STATUS],
        responses={200: ChangeRequestSerializer(many=True), **errors(400, 403, 404)},
    )
    def get(self, request: Request, org_id: int) -> Response:
        found = changes.change_list(
            membership=self.membership,
            organization=self.organization,
            status=request.query_params.get("status") or None,
        )
        return Response([changes.as_json(item) for item in found])


class ChangeDetailView(OrgScopedAPIView):
    policy_actions = {"GET": "change.list"}

    @extend_schema(
        operation_id="getChangeRequest",
        tags=TAGS,
        parameters=[ORG_ID, CHANGE_ID],
        responses={200: ChangeRequestSerializer, **errors(403, 404)},
        description="A change request and its diff (keys and tags; values are never shown).",
    )
    def get(self, request: Request, org_id: int, change_id: int) -> Response:
        item = changes.change_get(
            membership=self.membership, organization=self.organization, change_id=change_id
        )
        return Response(changes.as_json(item))


def _decision_schema(name: str, text: str) -> Any:
    return extend_schema(
        operation_id=f"{name}ChangeRequest",
        tags=TAGS,
        parameters=[ORG_ID, CHANGE_ID],
        request=None,
        responses={200: ChangeRequestSerializer, **errors(403, 404, 409)},
        description=text,
    )


class ChangeApproveView(OrgScopedAPIView):
    policy_actions = {"POST": "change.decide"}

    @_decision_schema(
        "approve",
        "Approve (an admin other than the requester); the change is applied, through the "
        "one write path, once the org's required number of admins approved it.",
    )
    def post(self, request: Request, org_id: int, change_id: int) -> Response:
        item = changes_apply.change_approve(
            membership=self.membership,
            organization=self.organization,
            change_id=change_id,
            now=timezone.now(),
        )
        return Response(changes.as_json(item))


class ChangeRejectView(OrgScopedAPIView):
    policy_actions = {"POST": "change.decide"}

    @_decision_schema("reject", "Reject: nothing changes; the held values are deleted.")
    def post(self, request: Request, org_id: int, change_id: int) -> Response:
        item = changes.change_reject(
            membership=self.membership,
            organization=self.organization,
            change_id=change_id,
            now=timezone.now(),
        )
        return Response(changes.as_json(item))


class ChangeWithdrawView(OrgScopedAPIView):
    policy_actions = {"POST": "change.withdraw"}

    @_decision_schema("withdraw", "Withdraw one's own request: nothing changes.")
    def post(self, request: Request, org_id: int, change_id: int) -> Response:
        item = changes.change_withdraw(
            membership=self.membership,
            organization=self.organization,
            change_id=change_id,
            now=timezone.now(),
        )
        return Response(changes.as_json(item))
