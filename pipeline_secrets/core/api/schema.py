"""OpenAPI pieces shared by every API view: the problem document and the error responses."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from pipeline_secrets.core.converters import ID_SCHEMA, SECRET_ID_SCHEMA

# An RFC 9457 problem document; ``errors`` maps field names to messages.
ProblemSerializer = inline_serializer(
    name="Problem",
    fields={
        "type": serializers.CharField(default="about:blank"),
        "title": serializers.CharField(),
        "status": serializers.IntegerField(),
        "detail": serializers.CharField(),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()), required=False
        ),
        "requestId": serializers.CharField(
            required=False, help_text="On an internal error: the id it was logged under."
        ),
        # The original product's error members, still read by its clients.
        "code": serializers.IntegerField(help_text="Deprecated: the same as `status`."),
        "message": serializers.CharField(help_text="Deprecated: the same as `detail`."),
        "error": serializers.CharField(help_text="Deprecated: the same as `title`."),
    },
)


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """Problem responses for the given status codes (401 and 500 are always included)."""
    descriptions = {
        400: "Invalid request; `errors` names each bad field.",
        401: "Missing, invalid, expired or revoked token.",
        403: "Your role in the organization does not allow this.",
        404: "No such object in this organization (or no such organization for you).",
        409: "Conflict with the current state (duplicate name, stale version).",
        413: "Request body over 1 MiB.",
        500: "An internal error; it was logged under `requestId`.",
        502: "An upstream system failed.",
        503: "Vault is sealed or unreachable.",
    }
    return {
        code: OpenApiResponse(ProblemSerializer, description=descriptions[code])
        for code in sorted({401, 500, *codes})
    }


def id_parameter(name: str, description: str = "") -> OpenApiParameter:
    """A path parameter that is a database id (an ``<id:...>`` in the URL): an integer from
    1 to 2**63-1; any other value is a 404."""
    return OpenApiParameter(name, dict(ID_SCHEMA), OpenApiParameter.PATH, description=description)


def secret_id_parameter(name: str = "secret_id", description: str = "") -> OpenApiParameter:
    """A path parameter that is a secret's id (a ``<secret_id:...>`` in the URL): 64
    lowercase hex digits; any other value is a 404."""
    return OpenApiParameter(
        name, dict(SECRET_ID_SCHEMA), OpenApiParameter.PATH, description=description
    )


ORG_ID = id_parameter("org_id", "orgId")
VALIDATE = OpenApiParameter(
    "validate",
    OpenApiTypes.BOOL,
    description="Also verify credentials with their provider (default true).",
)


# A change held for approval (a protected secret): the change request made instead.
HELD = {
    202: OpenApiResponse(
        inline_serializer(
            name="ChangeHeld",
            fields={
                "changeRequest": inline_serializer(
                    name="HeldChangeRequest",
                    fields={
                        "id": serializers.IntegerField(),
                        "status": serializers.CharField(),
                        "kind": serializers.CharField(),
                        "secretId": serializers.CharField(),
                        "secretName": serializers.CharField(),
                        "requestedBy": serializers.CharField(),
                        "expiresAt": serializers.DateTimeField(),
                    },
                )
            },
        ),
        description="Held for approval: the secret is protected, a change request was made.",
    )
}
