"""The organization's audit trail (admins) and your own security log: thin views over
``audit.selectors``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import selectors
from audit.api.serializers import AuditEventSerializer, SecurityEventSerializer
from orgs import policy
from orgs.api.permissions import SESSION_ONLY, TOKEN_REFUSED, SignedInSessionOnly
from orgs.scoping import OrgScopedAPIView, actor
from pipeline_secrets.core.api.params import whole_number
from pipeline_secrets.core.api.schema import ORG_ID, errors
from pipeline_secrets.core.paging import keyset_page

AUDIT_MAX = 500


class AuditListView(OrgScopedAPIView):
    policy_actions = {"GET": "activity.view"}

    @extend_schema(
        operation_id="listAuditEvents",
        tags=["organizations"],
        parameters=[
            ORG_ID,
            OpenApiParameter("action", OpenApiTypes.STR, description="An action or its prefix."),
            OpenApiParameter("targetId", OpenApiTypes.STR, description="e.g. a secretId."),
            OpenApiParameter("actor", OpenApiTypes.STR, description="A username."),
            OpenApiParameter("before", OpenApiTypes.INT, description="Events older than this id."),
            OpenApiParameter("limit", OpenApiTypes.INT, description=f"At most {AUDIT_MAX} (100)."),
        ],
        responses={200: AuditEventSerializer(many=True), **errors(400, 403, 404)},
        description="The organization's audit trail, newest first (admin).",
    )
    def get(self, request: Request, org_id: int) -> Response:
        params = request.query_params
        for name in ("action", "targetId", "actor"):
            # No stored text holds a NUL, and PostgreSQL refuses one in a query.
            if "\x00" in params.get(name, ""):
                raise ValidationError({name: "Null characters are not allowed."})
        events = selectors.events(
            organization=self.organization,
            action=params.get("action") or None,
            target_id=params.get("targetId") or None,
            actor=params.get("actor") or None,
        )
        before = whole_number(params.get("before"), "before")
        limit = whole_number(params.get("limit"), "limit", default=100)
        if not 1 <= (limit or 0) <= AUDIT_MAX:
            raise ValidationError({"limit": f"Must be between 1 and {AUDIT_MAX}."})
        page, _ = keyset_page(events, before=before, limit=limit or 100)
        return Response(AuditEventSerializer(page, many=True).data)


SECURITY_MAX = 500


class SecurityEventListView(APIView):
    permission_classes = [SignedInSessionOnly]
    policy_audience = {"GET": policy.SESSION}

    @extend_schema(
        operation_id="listMySecurityEvents",
        tags=["tokens"],
        parameters=[
            OpenApiParameter("before", OpenApiTypes.INT, description="Events older than this id."),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description=f"At most {SECURITY_MAX} (100)."
            ),
        ],
        responses={200: SecurityEventSerializer(many=True), **errors(400, 403), **TOKEN_REFUSED},
        description="Your own security log, newest first: sign-ins, failures, lockouts and "
        "linked identities. Organizations see these only where you joined by consent."
        + SESSION_ONLY,
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        before = whole_number(params.get("before"), "before")
        limit = whole_number(params.get("limit"), "limit", default=100)
        if not 1 <= (limit or 0) <= SECURITY_MAX:
            raise ValidationError({"limit": f"Must be between 1 and {SECURITY_MAX}."})
        page, _ = keyset_page(
            selectors.security_events(actor(request)), before=before, limit=limit or 100
        )
        return Response(SecurityEventSerializer(page, many=True).data)
