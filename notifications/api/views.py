"""Notification targets and their delivery log (admins): thin views over
``notifications.services``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from notifications import services as notifications
from notifications.events import event_kinds
from notifications.models import NotificationTarget
from orgs.api.serializers import GivenCharField, UtcDateTimeField
from orgs.scoping import OrgScopedAPIView, actor
from pipeline_secrets.core.api.params import positive_int, whole_number
from pipeline_secrets.core.api.schema import ORG_ID, errors, id_parameter
from pipeline_secrets.core.paging import keyset_page

DELIVERIES_MAX = 500
TARGET_ID = id_parameter("target_id")


class _Text(serializers.CharField):
    """A string that must arrive as a JSON string (no number or boolean coerced)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


# Reads a ``NotificationTarget``.
class NotificationTargetSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    kind = serializers.ChoiceField(choices=NotificationTarget.Kind.values)
    name = serializers.CharField()
    emails = serializers.ListField(child=serializers.CharField(), help_text="E-mail targets.")
    url = serializers.CharField(help_text="Webhook targets; empty for e-mail.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=[]),
        help_text="The events sent to it; empty: every event but the opt-in ones (secret.read).",
    )
    format = serializers.ChoiceField(
        choices=NotificationTarget.Format.values,
        help_text="Webhooks: `generic` (the signed JSON) or `slack` ({text, blocks}).",
    )
    createdBy = serializers.CharField(source="created_by")
    createdAt = UtcDateTimeField(source="created_at")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The kinds the apps registered (at start-up, after this module was imported).
        events = self.fields["events"]
        assert isinstance(events, serializers.ListField)
        assert isinstance(events.child, serializers.ChoiceField)
        events.child.choices = list(event_kinds())


class NotificationTargetCreatedSerializer(NotificationTargetSerializer):
    signingSecret = GivenCharField(
        required=False,
        help_text="Webhooks only: the HMAC-SHA256 key of X-Pipeline-Signature, shown this once.",
    )


FORMAT_HELP = "For kind webhook: `generic` (default, the signed JSON) or `slack` ({text, blocks})."


class NotificationTargetCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=NotificationTarget.Kind.values)
    name = _Text(max_length=100)
    emails = serializers.ListField(
        child=_Text(max_length=254), required=False, help_text="For kind email: 1 to 10."
    )
    url = _Text(required=False, max_length=2000, help_text="For kind webhook: http(s) URL.")
    events = serializers.ListField(
        child=_Text(),
        required=False,
        help_text="Event kinds to send; empty or absent: all but the opt-in ones (secret.read).",
    )
    format = _Text(required=False, help_text=FORMAT_HELP)


class NotificationTargetUpdateSerializer(serializers.Serializer):
    name = _Text(required=False, max_length=100)
    emails = serializers.ListField(
        child=_Text(max_length=254), required=False, help_text="For kind email: 1 to 10."
    )
    url = _Text(required=False, max_length=2000, help_text="For kind webhook: http(s) URL.")
    events = serializers.ListField(
        child=_Text(), required=False, help_text="Event kinds to send; empty: all but opt-in."
    )
    format = _Text(required=False, help_text=FORMAT_HELP)
    newSigningSecret = serializers.BooleanField(
        required=False, help_text="Webhooks: replace the signing secret (the answer has it)."
    )


# Reads a ``NotificationDelivery``.
class NotificationDeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    targetId = serializers.IntegerField(source="target_id")
    targetName = serializers.CharField(source="target.name")
    event = serializers.CharField()
    subject = serializers.CharField()
    detail = serializers.DictField(help_text="Ids, names, versions and dates; never a value.")
    status = serializers.ChoiceField(choices=["pending", "sending", "delivered", "failed"])
    attempts = serializers.IntegerField()
    responseCode = serializers.IntegerField(
        source="response_code", allow_null=True, help_text="The webhook's last HTTP status."
    )
    lastError = serializers.CharField(source="last_error")
    nextAttemptAt = UtcDateTimeField(source="next_attempt_at", allow_null=True)
    createdAt = UtcDateTimeField(source="created_at")
    deliveredAt = UtcDateTimeField(source="delivered_at", allow_null=True)


class NotificationTargetListView(OrgScopedAPIView):
    policy_actions = {"GET": "notification.manage", "POST": "notification.manage"}

    @extend_schema(
        operation_id="listNotificationTargets",
        tags=["notifications"],
        parameters=[ORG_ID],
        responses={200: NotificationTargetSerializer(many=True), **errors(403, 404)},
        description="Where the organization's notifications go (admin).",
    )
    def get(self, request: Request, org_id: int) -> Response:
        targets = notifications.target_list(organization=self.organization)
        return Response(NotificationTargetSerializer(targets, many=True).data)

    @extend_schema(
        operation_id="createNotificationTarget",
        tags=["notifications"],
        parameters=[ORG_ID],
        request=NotificationTargetCreateSerializer,
        responses={201: NotificationTargetCreatedSerializer, **errors(400, 403, 404, 413)},
        description=(
            "Adds an e-mail target (`emails`) or a webhook (`url`; loopback, private and "
            "operator-denied networks are refused). A webhook's `signingSecret` is in this "
            "answer only: each POST carries `X-Pipeline-Timestamp` and `X-Pipeline-Signature: "
            'sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`. Admin.'
        ),
    )
    def post(self, request: Request, org_id: int) -> Response:
        body = NotificationTargetCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        target, raw = notifications.target_create(
            actor=actor(request),
            organization=self.organization,
            kind=data["kind"],
            name=data["name"],
            emails=data.get("emails"),
            url=data.get("url"),
            events=data.get("events"),
            format=data.get("format"),
        )
        context = {"signingSecret": raw} if raw else {}
        created = NotificationTargetCreatedSerializer(target, context=context)
        return Response(created.data, status=status.HTTP_201_CREATED)


class NotificationTargetDetailView(OrgScopedAPIView):
    policy_actions = {"PATCH": "notification.manage", "DELETE": "notification.manage"}

    @extend_schema(
        operation_id="updateNotificationTarget",
        tags=["notifications"],
        parameters=[ORG_ID, TARGET_ID],
        request=NotificationTargetUpdateSerializer,
        responses={200: NotificationTargetCreatedSerializer, **errors(400, 403, 404, 413)},
        description=(
            "Changes a target's name, addresses or URL, events and format (absent fields "
            "stay; its kind cannot change). With `newSigningSecret` a webhook gets a new "
            "signing secret, in this answer only. Admin."
        ),
    )
    def patch(self, request: Request, org_id: int, target_id: int) -> Response:
        body = NotificationTargetUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        target = notifications.target_get(organization=self.organization, target_id=target_id)
        target, raw = notifications.target_update(
            actor=actor(request),
            organization=self.organization,
            target_id=target.pk,
            name=data.get("name", target.name),
            emails=data.get("emails", target.emails or None),
            url=data.get("url", target.url or None),
            events=data.get("events", target.events),
            format=data.get("format", target.format),
            new_secret=data.get("newSigningSecret", False),
        )
        context = {"signingSecret": raw} if raw else {}
        return Response(NotificationTargetCreatedSerializer(target, context=context).data)

    @extend_schema(
        operation_id="deleteNotificationTarget",
        tags=["notifications"],
        parameters=[ORG_ID, TARGET_ID],
        responses={204: None, **errors(403, 404)},
        description="Removes a target and its delivery log (admin).",
    )
    def delete(self, request: Request, org_id: int, target_id: int) -> Response:
        notifications.target_delete(
            actor=actor(request), organization=self.organization, target_id=target_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotificationTargetTestView(OrgScopedAPIView):
    policy_actions = {"POST": "notification.manage"}

    @extend_schema(
        operation_id="testNotificationTarget",
        tags=["notifications"],
        parameters=[ORG_ID, TARGET_ID],
        request=None,
        responses={202: NotificationDeliverySerializer, **errors(403, 404)},
        description=(
            "Queues a `test` notification for this target; the worker sends it now. The "
            "delivery answered (and the delivery log) says how sending went: `status`, "
            "`responseCode`, `lastError`. Admin."
        ),
    )
    def post(self, request: Request, org_id: int, target_id: int) -> Response:
        delivery = notifications.target_test(
            actor=actor(request), organization=self.organization, target_id=target_id
        )
        return Response(
            NotificationDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED
        )


class NotificationDeliveryListView(OrgScopedAPIView):
    policy_actions = {"GET": "notification.manage"}

    @extend_schema(
        operation_id="listNotificationDeliveries",
        tags=["notifications"],
        parameters=[
            ORG_ID,
            OpenApiParameter("targetId", OpenApiTypes.INT, description="One target's."),
            OpenApiParameter("before", OpenApiTypes.INT, description="Older than this id."),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description=f"At most {DELIVERIES_MAX} (100)."
            ),
        ],
        responses={200: NotificationDeliverySerializer(many=True), **errors(400, 403, 404)},
        description=(
            "The delivery log, newest first: status, attempts, the receiver's status code, "
            "the next retry and the last error (admin). Response bodies are never kept."
        ),
    )
    def get(self, request: Request, org_id: int) -> Response:
        params = request.query_params
        limit = whole_number(params.get("limit"), "limit", default=100)
        if limit is None or not 1 <= limit <= DELIVERIES_MAX:
            raise ValidationError({"limit": f"Must be between 1 and {DELIVERIES_MAX}."})
        rows = notifications.delivery_list(
            organization=self.organization,
            target_id=positive_int(request, "targetId"),
        )
        page, _ = keyset_page(rows, before=positive_int(request, "before"), limit=limit)
        return Response(NotificationDeliverySerializer(page, many=True).data)
