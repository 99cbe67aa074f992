"""Secrets API: thin views over ``secrets_app.services`` and ``secrets_app.selectors``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orgs import policy
from orgs.scoping import OrgScopedAPIView
from pipeline_secrets.core.api.params import aware_time, flag, positive_int, texts
from pipeline_secrets.core.api.schema import (
    HELD,
    ORG_ID,
    VALIDATE,
    errors,
    id_parameter,
    secret_id_parameter,
)
from pipeline_secrets.core.errors import NotFoundError
from secrets_app import index, lifecycle, schedule, selectors, services
from secrets_app import values as secret_values
from secrets_app.api.serializers import (
    SECRET_TYPE_MAP_SCHEMA,
    EarlierVersion,
    RollbackSerializer,
    SecretCreatedSerializer,
    SecretItemSerializer,
    SecretTypeSerializer,
    SecretUpdateSerializer,
    SecretValidationSerializer,
    SecretVersionSerializer,
    SecretWriteSerializer,
    secret_created_data,
    secret_item_data,
)
from secrets_app.types import REGISTRY, Context, get_type

SECRET_ID = secret_id_parameter(description="secretId (hex SHA-256 of the name)")
TAG = OpenApiParameter(
    "tag", OpenApiTypes.STR, OpenApiParameter.PATH, description="A tag; may contain ':' and '/'."
)
TAG_LIST = OpenApiResponse(
    response={"type": "array", "items": {"type": "string"}}, description="The secret's tags."
)
VALUES = OpenApiParameter(
    "values", OpenApiTypes.BOOL, description="Include values (member role). Default false."
)
EXPIRES_BEFORE = OpenApiParameter(
    "expiresBefore",
    OpenApiTypes.STR,
    description="Only secrets holding a certificate that expires before this time: an RFC 3339 "
    "time with offset, or a duration from now (30d, 720h, 1d12h).",
)


def expires_before(request: Request) -> datetime | None:
    """``expiresBefore`` as a time; a field error naming it when it is neither form."""
    raw = request.query_params.get("expiresBefore")
    if raw is None or raw == "":
        return None
    when = aware_time(raw, "expiresBefore")
    if when is not None:
        return when
    try:
        return timezone.now() + schedule.parse_every(raw)
    except (ValidationError, OverflowError):
        raise ValidationError(
            {"expiresBefore": "An RFC 3339 time with offset, or a duration such as 30d."}
        ) from None


class SecretTypeListView(APIView):
    policy_audience = {"GET": policy.SIGNED_IN}

    @extend_schema(
        operation_id="listSecretTypes",
        tags=["secret types"],
        description="Every secret type, keyed by its name (the original's shape).",
        responses={
            200: OpenApiResponse(
                response=SECRET_TYPE_MAP_SCHEMA, description="The types keyed by name."
            ),
            **errors(),
        },
    )
    def get(self, request: Request) -> Response:
        return Response({name: SecretTypeSerializer(t).data for name, t in REGISTRY.items()})


class SecretTypeDetailView(APIView):
    policy_audience = {"GET": policy.SIGNED_IN}

    @extend_schema(
        operation_id="getSecretType",
        tags=["secret types"],
        parameters=[OpenApiParameter("type", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses={200: SecretTypeSerializer, **errors(404)},
    )
    def get(self, request: Request, type: str) -> Response:
        if type not in REGISTRY:
            raise NotFoundError(
                f"Unknown secret type {type[:40]!r}; known types: {', '.join(sorted(REGISTRY))}."
            )
        return Response(SecretTypeSerializer(REGISTRY[type]).data)


class SecretListView(OrgScopedAPIView):
    policy_actions = {"GET": "secret.list", "POST": "secret.values.write"}

    @extend_schema(
        operation_id="listSecrets",
        tags=["secrets"],
        parameters=[
            ORG_ID,
            OpenApiParameter("type", OpenApiTypes.STR, description="Only this type."),
            OpenApiParameter(
                "tags",
                OpenApiTypes.STR,
                many=True,
                explode=True,
                description="Repeatable; a secret must carry every one (`tag` is accepted too).",
            ),
            OpenApiParameter("tag", OpenApiTypes.STR, many=True, explode=True),
            OpenApiParameter(
                "ids",
                OpenApiTypes.STR,
                many=True,
                explode=True,
                description="Repeatable; only the secrets with these ids.",
            ),
            VALUES,
            EXPIRES_BEFORE,
        ],
        responses={200: SecretItemSerializer(many=True), **errors(400, 403, 404, 503)},
    )
    def get(self, request: Request, org_id: int) -> Response:
        with_values = flag(request, "values")
        if with_values:
            policy.require(self.membership, "secret.values.read")
        tags = texts(request, "tags") + texts(request, "tag")
        kinds = texts(request, "type")  # the last one counts, as QueryDict.get has it
        kind = get_type(kinds[-1]).name if kinds and kinds[-1] else None
        rows = selectors.secret_list(
            organization=self.organization,
            type=kind,
            tags=tags,
            ids=texts(request, "ids"),
            expires_before=expires_before(request),
        )
        if not with_values:
            return Response(SecretItemSerializer(rows, many=True).data)
        found = list(rows)
        readable = [r for r in found if secret_values.may_read(self.membership, r)]
        values = secret_values.reveal_many(standing=self.membership, rows=readable)
        by_id = {r.secret_id: v for r, v in zip(readable, values, strict=True)}
        return Response(SecretItemSerializer(found, many=True, context={"values": by_id}).data)

    @extend_schema(
        operation_id="createSecret",
        tags=["secrets"],
        parameters=[ORG_ID, VALIDATE],
        request=SecretWriteSerializer,
        responses={201: SecretCreatedSerializer, **errors(400, 403, 404, 409, 413, 503)},
    )
    def post(self, request: Request, org_id: int) -> Response:
        body = SecretWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = services.secret_create(
            actor=self.membership,
            organization=self.organization,
            ctx=Context(verify_remote=flag(request, "validate", default=True)),
            **body.validated_data,
        )
        return Response(
            secret_created_data(result.row, result.generated), status=status.HTTP_201_CREATED
        )


class SecretDetailView(OrgScopedAPIView):
    policy_actions = {"GET": "secret.view", "PUT": "secret.values.write", "DELETE": "secret.delete"}

    @extend_schema(
        operation_id="getSecret",
        tags=["secrets"],
        parameters=[
            ORG_ID,
            SECRET_ID,
            OpenApiParameter(
                "version",
                OpenApiTypes.INT,
                description="An earlier version (member role); see /versions.",
            ),
        ],
        responses={200: SecretItemSerializer, **errors(400, 403, 404, 503)},
        description="Values are included for members and admins; viewers get metadata only.",
    )
    def get(self, request: Request, org_id: int, secret_id: str) -> Response:
        row = selectors.secret_row(organization=self.organization, secret_id=secret_id)
        version = positive_int(request, "version")
        if not secret_values.may_read(self.membership, row):
            if flag(request, "values") or version is not None:
                secret_values.require(self.membership, "secret.values.read", row)
            return Response(secret_item_data(row))
        if version is not None:
            old = secret_values.reveal(
                standing=self.membership, row=row, purpose="show", version=version
            )
            earlier = EarlierVersion.of(row, old)
            context = {"values": {earlier.secret_id: earlier.values}}
            return Response(SecretItemSerializer(earlier, context=context).data)
        document = secret_values.reveal(standing=self.membership, row=row, purpose="show")
        if document.version != row.version:
            # Vault moved on without the index (a repaired failure): catch the index up.
            row = index.index_sync(organization=self.organization, secret_id=secret_id) or row
        values = dict(document.data.get("values") or {})
        return Response(secret_item_data(row, values))

    @extend_schema(
        operation_id="updateSecret",
        tags=["secrets"],
        parameters=[ORG_ID, SECRET_ID, VALIDATE],
        request=SecretUpdateSerializer,
        responses={**HELD, 200: SecretCreatedSerializer, **errors(400, 403, 404, 409, 413, 503)},
        description="Replaces values and tags. Name and type are immutable.",
    )
    def put(self, request: Request, org_id: int, secret_id: str) -> Response:
        body = SecretUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(body.validated_data)
        result = services.secret_update(
            actor=self.membership,
            organization=self.organization,
            secret_id=secret_id,
            values=data["values"],
            tags=data["tags"],
            name=data.get("name"),
            type=data.get("type"),
            expected_version=data.get("version"),
            rotation=data.get("rotation", schedule.NOT_GIVEN),
            ctx=Context(verify_remote=flag(request, "validate", default=True)),
        )
        context = {"generated": result.generated, "installations": result.installations}
        return Response(SecretCreatedSerializer(result.row, context=context).data)

    @extend_schema(
        operation_id="deleteSecret",
        tags=["secrets"],
        parameters=[ORG_ID, SECRET_ID],
        responses={**HELD, 204: None, **errors(403, 404, 409, 503)},
    )
    def delete(self, request: Request, org_id: int, secret_id: str) -> Response:
        services.secret_delete(
            actor=self.membership, organization=self.organization, secret_id=secret_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class SecretVersionsView(OrgScopedAPIView):
    policy_actions = {"GET": "secret.versions"}

    @extend_schema(
        operation_id="listSecretVersions",
        tags=["secrets"],
        parameters=[ORG_ID, SECRET_ID],
        responses={200: SecretVersionSerializer(many=True), **errors(403, 404, 503)},
        description=(
            "The versions Vault keeps (the last ten), newest first. Read one with "
            "GET /secrets/{secretId}?version=N."
        ),
    )
    def get(self, request: Request, org_id: int, secret_id: str) -> Response:
        row = selectors.secret_get(organization=self.organization, secret_id=secret_id)
        versions = secret_values.versions(row=row)
        context = {"current": row.version}
        return Response(SecretVersionSerializer(versions, many=True, context=context).data)


class SecretTagListView(OrgScopedAPIView):
    policy_actions = {"GET": "secret.view"}

    @extend_schema(
        operation_id="listSecretTags",
        tags=["secrets"],
        parameters=[ORG_ID, SECRET_ID],
        responses={200: TAG_LIST, **errors(403, 404)},
    )
    def get(self, request: Request, org_id: int, secret_id: str) -> Response:
        row = selectors.secret_get(organization=self.organization, secret_id=secret_id)
        return Response(row.tags)


class SecretTagView(OrgScopedAPIView):
    policy_actions = {"PUT": "secret.tag", "DELETE": "secret.tag"}

    @extend_schema(
        operation_id="addSecretTag",
        tags=["secrets"],
        parameters=[ORG_ID, SECRET_ID, TAG],
        request=None,
        responses={**HELD, 200: TAG_LIST, **errors(400, 403, 404, 409, 503)},
        description="Adds the tag (idempotent); answers the secret's tags.",
    )
    def put(self, request: Request, org_id: int, secret_id: str, tag: str) -> Response:
        row = services.tag_add(
            actor=self.membership, organization=self.organization, secret_id=secret_id, tag=tag
        )
        return Response(row.tags)

    @extend_schema(
        operation_id="removeSecretTag",
        tags=["secrets"],
        parameters=[ORG_ID, SECRET_ID, TAG],
        responses={**HELD, 204: None, **errors(400, 403, 404, 409, 503)},
    )
    def delete(self, request: Request, org_id: int, secret_id: str, tag: str) -> Response:
        services.tag_remove(
            actor=self.membership, organization=self.organization, secret_id=secret_id, tag=tag
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class SecretValidateView(OrgScopedAPIView):
    policy_actions = {"GET": "secret.values.read"}

    @extend_schema(
        operation_id="validateSecret",
        tags=["secrets"],
        parameters=[ORG_ID, SECRET_ID, VALIDATE],
        responses={200: SecretValidationSerializer, **errors(400, 403, 404, 503)},
        description=(
            "Re-runs the type's validation (and the provider check unless validate=false) "
            "on the stored values. Invalid values are a 400 naming each field."
        ),
    )
    def get(self, request: Request, org_id: int, secret_id: str) -> Response:
        row = selectors.secret_get(organization=self.organization, secret_id=secret_id)
        verify_remote = flag(request, "validate", default=True)
        services.secret_validate(
            actor=self.membership, row=row, ctx=Context(verify_remote=verify_remote)
        )
        context = {"valid": True, "remoteChecked": verify_remote}
        return Response(SecretValidationSerializer(row, context=context).data)


class SecretRollbackView(OrgScopedAPIView):
    policy_actions = {"POST": "secret.values.write"}

    @extend_schema(
        operation_id="rollbackSecret",
        tags=["secrets"],
        parameters=[ORG_ID, SECRET_ID],
        request=RollbackSerializer,
        responses={**HELD, 200: SecretCreatedSerializer, **errors(400, 403, 404, 409, 503)},
        description=(
            "Writes an earlier version's values and tags as a new version (check-and-set; "
            "`expectedVersion` guards against a concurrent writer) and refreshes the installed "
            "copies, like an update. A read-only secret is a 409."
        ),
    )
    def post(self, request: Request, org_id: int, secret_id: str) -> Response:
        # Unknown secret 404, then the policy, before the body is read.
        row = selectors.secret_get(organization=self.organization, secret_id=secret_id)
        secret_values.require(self.membership, "secret.values.write", row)
        body = RollbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = lifecycle.secret_rollback(
            actor=self.membership,
            organization=self.organization,
            secret_id=secret_id,
            version=body.validated_data["version"],
            expected_version=body.validated_data.get("expectedVersion"),
        )
        context = {"generated": {}, "installations": result.installations}
        return Response(SecretCreatedSerializer(result.row, context=context).data)


class SecretRotateView(OrgScopedAPIView):
    policy_actions = {"POST": "secret.rotate"}

    @extend_schema(
        operation_id="rotateSecret",
        tags=["secrets"],
        parameters=[ORG_ID, SECRET_ID],
        request=None,
        responses={**HELD, 200: SecretCreatedSerializer, **errors(400, 403, 404, 409, 503)},
        description=(
            "Rotates now: fresh values made with the same parameters (types with `rotatable` "
            "true; others are a 400), written as a new version and pushed to the installed "
            "copies. `generated` holds the new values, shown this once."
        ),
    )
    def post(self, request: Request, org_id: int, secret_id: str) -> Response:
        result = lifecycle.secret_rotate(
            actor=self.membership, organization=self.organization, secret_id=secret_id
        )
        context = {"generated": result.generated, "installations": result.installations}
        return Response(SecretCreatedSerializer(result.row, context=context).data)


class SecretVersionView(OrgScopedAPIView):
    policy_actions = {"DELETE": "secret.version.destroy"}

    @extend_schema(
        operation_id="destroySecretVersion",
        tags=["secrets"],
        parameters=[ORG_ID, SECRET_ID, id_parameter("version", "The version to destroy.")],
        responses={204: None, **errors(403, 404, 409, 503)},
        description=(
            "Destroys an earlier version for good (KV v2 destroy); its number stays listed as "
            "deleted. The current version cannot be destroyed (409). Admins only."
        ),
    )
    def delete(self, request: Request, org_id: int, secret_id: str, version: int) -> Response:
        lifecycle.secret_destroy_version(
            actor=self.membership,
            organization=self.organization,
            secret_id=secret_id,
            version=version,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
