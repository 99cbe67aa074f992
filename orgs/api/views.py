"""Organizations, members and API tokens: thin views over ``orgs.services``."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orgs import consent, invitations, policy, selectors, services
from orgs.api.permissions import SESSION_ONLY, TOKEN_REFUSED, SignedInSessionOnly
from orgs.api.serializers import (
    InvitationCreateSerializer,
    InvitationSerializer,
    MemberAddSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    OrganizationCreateSerializer,
    OrganizationSerializer,
    TokenCreatedSerializer,
    TokenCreateSerializer,
    TokenSerializer,
)
from orgs.models import Invitation, Membership
from orgs.scoping import (
    OrgScopedAPIView,
    actor,
    memberships_within_token_limits,
    request_token,
    require_unlimited_token,
)
from pipeline_secrets.core.api.schema import ORG_ID, ProblemSerializer, errors, id_parameter

USER_ID = id_parameter("user_id")


class OrganizationListView(APIView):
    policy_audience = {"GET": policy.SIGNED_IN, "POST": policy.ORG_CREATORS}

    @extend_schema(
        operation_id="listOrgs",
        tags=["organizations"],
        responses={200: OrganizationSerializer(many=True), **errors()},
    )
    def get(self, request: Request) -> Response:
        memberships = memberships_within_token_limits(
            selectors.organizations_for_user(user=actor(request)), request_token(request)
        )
        return Response(OrganizationSerializer(memberships, many=True).data)

    @extend_schema(
        operation_id="createOrg",
        tags=["organizations"],
        request=OrganizationCreateSerializer,
        responses={
            201: OrganizationSerializer,
            **errors(400, 403, 409, 413),
            403: OpenApiResponse(
                ProblemSerializer,
                description="The operator allows only staff accounts to create organizations "
                "(ORG_CREATION=staff), or the API token is limited to an org or a role.",
            ),
        },
        description="Creates an organization; you become its first admin. Who may is the "
        "operator's choice (ORG_CREATION: staff accounts only, or anyone). "
        "A token limited to an organization or a role cannot.",
    )
    def post(self, request: Request) -> Response:
        require_unlimited_token(request, "create organizations")
        consent.require_org_creation(actor(request))  # before the body: a refusal says why
        body = OrganizationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        org = services.organization_create(actor=actor(request), name=body.validated_data["name"])
        membership = Membership.objects.select_related("organization").get(
            organization=org, user=actor(request)
        )
        return Response(OrganizationSerializer(membership).data, status=status.HTTP_201_CREATED)


class OrganizationDetailView(OrgScopedAPIView):
    policy_actions = {"GET": "org.view"}

    @extend_schema(
        operation_id="getOrg",
        tags=["organizations"],
        parameters=[ORG_ID],
        responses={200: OrganizationSerializer, **errors(404)},
    )
    def get(self, request: Request, org_id: int) -> Response:
        return Response(OrganizationSerializer(self.membership).data)


class MemberListView(OrgScopedAPIView):
    policy_actions = {"GET": "member.view", "POST": "member.manage"}

    @extend_schema(
        operation_id="listMembers",
        tags=["members"],
        parameters=[ORG_ID],
        responses={200: MemberSerializer(many=True), **errors(404)},
    )
    def get(self, request: Request, org_id: int) -> Response:
        members = selectors.member_list(organization=self.organization)
        return Response(MemberSerializer(members, many=True).data)

    @extend_schema(
        operation_id="addMember",
        tags=["members"],
        parameters=[ORG_ID],
        request=MemberAddSerializer,
        responses={
            202: OpenApiResponse(
                InvitationSerializer,
                description="The account was invited; it becomes a member when it accepts.",
            ),
            **errors(400, 403, 404, 409, 413),
        },
        description="Invites an existing account, by username, with the role: the invitation "
        "is mailed to the account's address and only that account can accept it. Nobody "
        "becomes a member without accepting. 400 (`username`) for an unknown user or one "
        "without an e-mail address; 409 for a member or a pending invitation.",
    )
    def post(self, request: Request, org_id: int) -> Response:
        body = MemberAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invitation, _ = invitations.member_invite(
            actor=actor(request),
            organization=self.organization,
            base_url=request.build_absolute_uri("/"),
            **body.validated_data,
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_202_ACCEPTED)


class MemberDetailView(OrgScopedAPIView):
    policy_actions = {"GET": "member.view", "PUT": "member.manage", "DELETE": "member.manage"}

    @extend_schema(
        operation_id="getMember",
        tags=["members"],
        parameters=[ORG_ID, USER_ID],
        responses={200: MemberSerializer, **errors(404)},
    )
    def get(self, request: Request, org_id: int, user_id: int) -> Response:
        membership = selectors.member_get(organization=self.organization, user_id=user_id)
        return Response(MemberSerializer(membership).data)

    @extend_schema(
        operation_id="changeMemberRole",
        tags=["members"],
        parameters=[ORG_ID, USER_ID],
        request=MemberRoleSerializer,
        responses={200: MemberSerializer, **errors(400, 403, 404, 409, 413)},
        description="Changes a member's role; the last admin cannot be demoted.",
    )
    def put(self, request: Request, org_id: int, user_id: int) -> Response:
        body = MemberRoleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        membership = services.member_change_role(
            actor=actor(request),
            organization=self.organization,
            user_id=user_id,
            role=body.validated_data["role"],
        )
        return Response(MemberSerializer(membership).data)

    @extend_schema(
        operation_id="removeMember",
        tags=["members"],
        parameters=[ORG_ID, USER_ID],
        responses={204: None, **errors(403, 404, 409)},
        description="Removes a member; the last admin cannot be removed.",
    )
    def delete(self, request: Request, org_id: int, user_id: int) -> Response:
        services.member_remove(
            actor=actor(request), organization=self.organization, user_id=user_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


INVITATION_ID = id_parameter("invitation_id")


class InvitationListView(OrgScopedAPIView):
    policy_actions = {"GET": "invitation.manage", "POST": "invitation.manage"}

    @extend_schema(
        operation_id="listInvitations",
        tags=["members"],
        parameters=[ORG_ID],
        responses={200: InvitationSerializer(many=True), **errors(403, 404)},
        description="The organization's invitations, newest first, with their state (admins).",
    )
    def get(self, request: Request, org_id: int) -> Response:
        rows = Invitation.objects.for_org(self.organization).select_related("invitee")
        return Response(InvitationSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="createInvitation",
        tags=["members"],
        parameters=[ORG_ID],
        request=InvitationCreateSerializer,
        responses={201: InvitationSerializer, **errors(400, 403, 404, 409, 413)},
        description="Mails a single-use link (valid 7 days) to the address; the person with a "
        "verified address equal to it (or who signs up for it from the link) accepts it and "
        "becomes a member with the role; anyone else is refused. The link is in the mail only. "
        "409 when the address already has a pending invitation: resend that one instead.",
    )
    def post(self, request: Request, org_id: int) -> Response:
        body = InvitationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invitation, _ = invitations.invitation_create(
            actor=actor(request),
            organization=self.organization,
            base_url=request.build_absolute_uri("/"),
            **body.validated_data,
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationDetailView(OrgScopedAPIView):
    policy_actions = {"DELETE": "invitation.manage"}

    @extend_schema(
        operation_id="revokeInvitation",
        tags=["members"],
        parameters=[ORG_ID, INVITATION_ID],
        responses={204: None, **errors(403, 404, 409)},
        description="Revokes a pending invitation: its link stops working.",
    )
    def delete(self, request: Request, org_id: int, invitation_id: int) -> Response:
        invitations.invitation_revoke(
            actor=actor(request), organization=self.organization, invitation_id=invitation_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationResendView(OrgScopedAPIView):
    policy_actions = {"POST": "invitation.manage"}

    @extend_schema(
        operation_id="resendInvitation",
        tags=["members"],
        parameters=[ORG_ID, INVITATION_ID],
        request=None,
        responses={200: InvitationSerializer, **errors(403, 404, 409)},
        description="Mails a new single-use link for a pending or expired invitation, valid 7 "
        "days from now; the earlier link stops working. 409 for an accepted or revoked one. "
        "The link is in the mail only.",
    )
    def post(self, request: Request, org_id: int, invitation_id: int) -> Response:
        invitation, _ = invitations.invitation_resend(
            actor=actor(request),
            organization=self.organization,
            invitation_id=invitation_id,
            base_url=request.build_absolute_uri("/"),
        )
        return Response(InvitationSerializer(invitation).data)


class TokenListView(APIView):
    policy_audience = {"GET": policy.SESSION, "POST": policy.SESSION}
    permission_classes = [SignedInSessionOnly]

    @extend_schema(
        operation_id="listTokens",
        tags=["tokens"],
        responses={200: TokenSerializer(many=True), **errors(403), **TOKEN_REFUSED},
        description="Your personal tokens, newest first." + SESSION_ONLY,
    )
    def get(self, request: Request) -> Response:
        tokens = selectors.token_list(user=actor(request))
        return Response(TokenSerializer(tokens, many=True).data)

    @extend_schema(
        operation_id="createToken",
        tags=["tokens"],
        request=TokenCreateSerializer,
        responses={201: TokenCreatedSerializer, **errors(400, 403, 413), **TOKEN_REFUSED},
        description="Creates a personal token, optionally limited to one organization and to "
        "a maximum role. The token is in this answer only." + SESSION_ONLY,
    )
    def post(self, request: Request) -> Response:
        body = TokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, raw = services.token_create(
            user=actor(request),
            name=body.validated_data["name"],
            expires_at=body.validated_data.get("expiresAt"),
            organization_id=body.validated_data.get("organization"),
            max_role=body.validated_data.get("maxRole") or "",
        )
        created = TokenCreatedSerializer(token, context={"token": raw})
        return Response(created.data, status=status.HTTP_201_CREATED)


class TokenDetailView(APIView):
    policy_audience = {"DELETE": policy.SESSION}
    permission_classes = [SignedInSessionOnly]

    @extend_schema(
        operation_id="revokeToken",
        tags=["tokens"],
        parameters=[id_parameter("token_id")],
        responses={204: None, **errors(403, 404), **TOKEN_REFUSED},
        description="Revokes one of your tokens; it stops working at once." + SESSION_ONLY,
    )
    def delete(self, request: Request, token_id: int) -> Response:
        services.token_revoke(user=actor(request), token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
