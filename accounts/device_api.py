"""The device sign-in's API: a command-line client asks for a code, polls for its token,
and signs out by revoking the token it holds."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import device
from orgs import policy
from orgs.api.serializers import UtcDateTimeField
from orgs.scoping import request_token
from pipeline_secrets.core.api.schema import ProblemSerializer, errors


class DeviceStartSerializer(serializers.Serializer):
    clientName = serializers.CharField(
        max_length=200, required=False, help_text="Names the token, such as the host's name."
    )


class DevicePollSerializer(serializers.Serializer):
    deviceCode = serializers.CharField(max_length=200)


CODES = inline_serializer(
    "DeviceCodes",
    {
        "deviceCode": serializers.CharField(),
        "userCode": serializers.CharField(),
        "verificationUrl": serializers.CharField(),
        "verificationUrlComplete": serializers.CharField(),
        "interval": serializers.IntegerField(),
        "expiresIn": serializers.IntegerField(),
    },
)
TOKEN = inline_serializer(
    "DeviceToken",
    {
        "status": serializers.CharField(),
        "token": serializers.CharField(),
        "tokenId": serializers.IntegerField(),
        "organization": serializers.IntegerField(allow_null=True),
        "maxRole": serializers.CharField(),
        "expiresAt": serializers.CharField(allow_null=True),
    },
)


class DeviceCodeView(APIView):
    policy_audience = {"POST": policy.PUBLIC}
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="startDeviceSignIn",
        tags=["tokens"],
        request=DeviceStartSerializer,
        responses={201: CODES, **errors(400)},
        description="Starts a command-line sign-in: show `userCode` and `verificationUrl` to "
        "the person, then poll POST /device/token with `deviceCode` every `interval` seconds.",
    )
    def post(self, request: Request) -> Response:
        body = DeviceStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        started = device.device_start(client_name=body.validated_data.get("clientName", ""))
        url = request.build_absolute_uri(reverse("device"))
        data = {
            "deviceCode": started.device_code,
            "userCode": started.user_code,
            "verificationUrl": url,
            "verificationUrlComplete": f"{url}?code={started.user_code}",
            "interval": started.interval,
            "expiresIn": started.expires_in,
        }
        return Response(data, status=status.HTTP_201_CREATED)


class DeviceTokenView(APIView):
    policy_audience = {"POST": policy.PUBLIC, "DELETE": policy.SIGNED_IN}

    def get_authenticators(self) -> list[BaseAuthentication]:
        # Polling is anonymous by nature; signing out needs the token.
        if self.request is not None and self.request.method == "POST":
            return []
        return super().get_authenticators()

    def get_permissions(self) -> list[Any]:
        if self.request is not None and self.request.method == "POST":
            return [AllowAny()]
        return list(super().get_permissions())

    @extend_schema(
        operation_id="pollDeviceSignIn",
        tags=["tokens"],
        request=DevicePollSerializer,
        responses={
            200: TOKEN,
            **errors(400, 403, 404),
            410: OpenApiResponse(ProblemSerializer, description="The code expired or was used."),
            428: OpenApiResponse(ProblemSerializer, description="Not confirmed yet: poll again."),
        },
        description="The token, once the code is confirmed on the dashboard (this once). "
        "428 while it waits, 403 when denied, 410 when expired or used.",
    )
    def post(self, request: Request) -> Response:
        body = DevicePollSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        got = device.device_poll(device_code=body.validated_data["deviceCode"])
        token = got.token
        expires = token.expires_at and UtcDateTimeField().to_representation(token.expires_at)
        data = {
            "status": "approved",
            "token": got.raw,
            "tokenId": token.pk,
            "organization": token.organization_id,
            "maxRole": token.max_role,
            "expiresAt": expires,
        }
        return Response(data)

    @extend_schema(
        operation_id="revokeOwnToken",
        tags=["tokens"],
        request=None,
        responses={204: None, **errors(400, 401)},
        description="Revokes the token that authenticates this call (signing out).",
    )
    def delete(self, request: Request) -> Response:
        token = request_token(request)
        if token is None:
            raise ValidationError("Only a call made with an API token can revoke it.")
        device.token_revoke_self(token)
        return Response(status=status.HTTP_204_NO_CONTENT)
