"""The share links API: create a one-time link to a secret's values, list and revoke
links. Thin views over ``governance.sharing``; the token is in the creating answer's
``url`` only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from governance import sharing
from orgs.api.serializers import UtcDateTimeField
from orgs.scoping import OrgScopedAPIView
from pipeline_secrets.core.api.schema import ORG_ID, errors, secret_id_parameter
from secrets_app import selectors as secret_selectors
from secrets_app.api.serializers import StrictStringField

TAGS = ["share links"]
LINK_ID = OpenApiParameter("link_id", str, OpenApiParameter.PATH, description="The link's id.")


def with_fields(found: dict[str, Any], field: serializers.Field) -> dict[str, Any]:
    """A serializer's fields plus one named ``fields`` (a name a class attribute cannot
    take: it is the serializer's own)."""
    return {**found, "fields": field}


class ShareSerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, Any]:
        field = serializers.ListField(
            child=StrictStringField(max_length=253),
            required=False,
            max_length=100,
            help_text="The fields to share (default: all of them).",
        )
        return with_fields(super().get_fields(), field)

    ttl = StrictStringField(
        required=False, max_length=16, help_text="How long the link lives: 30m, 4h, 7d (1h)."
    )


class ShareCreatedSerializer(serializers.Serializer):
    id = serializers.CharField()
    url = serializers.CharField(help_text="The link: shown in this answer only.")
    expiresAt = UtcDateTimeField()


class ShareLinkSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    secretId = serializers.CharField(source="secret_id")
    secretName = serializers.CharField(source="secret_name")
    status = serializers.SerializerMethodField()
    createdBy = serializers.CharField(source="created_by")
    createdAt = UtcDateTimeField(source="created_at")
    expiresAt = UtcDateTimeField(source="expires_at")
    openedAt = UtcDateTimeField(source="opened_at", allow_null=True)
    openedIp = serializers.CharField(source="opened_ip", allow_null=True)
    revokedAt = UtcDateTimeField(source="revoked_at", allow_null=True)
    revokedBy = serializers.CharField(source="revoked_by")

    def get_fields(self) -> dict[str, Any]:
        field = serializers.ListField(child=serializers.CharField())
        return with_fields(super().get_fields(), field)

    def get_status(self, link: Any) -> str:
        return sharing.status_of(link, self.context["now"])


def site_base(request: HttpRequest) -> str:
    """Where the product is reached: ``PUBLIC_URL``, or the host this request came to."""
    return str(settings.PUBLIC_URL or request.build_absolute_uri("/"))


class ShareCreateView(OrgScopedAPIView):
    policy_actions = {"POST": "secret.share"}

    @extend_schema(
        operation_id="shareSecret",
        tags=TAGS,
        parameters=[ORG_ID, secret_id_parameter()],
        request=ShareSerializer,
        responses={201: ShareCreatedSerializer, **errors(400, 403, 404, 503)},
        description=(
            "Makes a link that reveals the secret's values (or the given fields) once, to "
            "anyone holding it, until its TTL ends (default 1h, at most 7d). The values are "
            "wrapped in OpenBao; the link's fragment holds the wrapping token, which the "
            "product does not keep."
        ),
    )
    def post(self, request: Request, org_id: int, secret_id: str) -> Response:
        given = ShareSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        row = secret_selectors.secret_get(organization=self.organization, secret_id=secret_id)
        shared = sharing.share_create(
            actor=self.membership,
            row=row,
            fields=given.validated_data.get("fields"),
            ttl=sharing.parse_ttl(given.validated_data.get("ttl")),
            now=timezone.now(),
        )
        body = {
            "id": shared.link.public_id,
            "url": sharing.link_url(site_base(request), shared),
            "expiresAt": shared.link.expires_at,
        }
        return Response(ShareCreatedSerializer(body).data, status=status.HTTP_201_CREATED)


class ShareLinkListView(OrgScopedAPIView):
    policy_actions = {"GET": "secret.share"}

    @extend_schema(
        operation_id="listShareLinks",
        tags=TAGS,
        parameters=[ORG_ID],
        responses={200: ShareLinkSerializer(many=True), **errors(403, 404)},
        description="The org's links for an admin, one's own for a member; never a token.",
    )
    def get(self, request: Request, org_id: int) -> Response:
        found = sharing.share_list(actor=self.membership, organization=self.organization)
        context = {"now": timezone.now()}
        return Response(ShareLinkSerializer(found, many=True, context=context).data)


class ShareLinkDetailView(OrgScopedAPIView):
    policy_actions = {"DELETE": "secret.share"}

    @extend_schema(
        operation_id="revokeShareLink",
        tags=TAGS,
        parameters=[ORG_ID, LINK_ID],
        responses={204: None, **errors(403, 404, 409, 503)},
        description="Revokes a link not yet opened (its creator or an admin).",
    )
    def delete(self, request: Request, org_id: int, link_id: str) -> Response:
        sharing.share_revoke(
            actor=self.membership,
            organization=self.organization,
            link_id=link_id,
            now=timezone.now(),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
