"""Dynamic database credentials API: thin views over ``databases`` services and selectors."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from clusters import selectors as cluster_selectors
from databases import credentials, installs, roles, selectors, services
from databases.api.serializers import (
    ConnectionCreateSerializer,
    ConnectionSerializer,
    ConnectionUpdateSerializer,
    CredentialsSerializer,
    InstallRequestSerializer,
    InstallResponseSerializer,
    InstallSerializer,
    LeaseSerializer,
    RoleSerializer,
    RoleWriteSerializer,
    role_changes,
)
from orgs.scoping import OrgScopedAPIView
from pipeline_secrets.core.api.schema import ORG_ID, errors, id_parameter

CONNECTION_ID = id_parameter("connection_id")
ROLE_ID = id_parameter("role_id")
LEASE_ID = OpenApiParameter("lease_id", str, OpenApiParameter.PATH, description="leaseId")
TAGS = ["databases"]


def valid(serializer: Any) -> dict[str, Any]:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ConnectionListView(OrgScopedAPIView):
    policy_actions = {"GET": "database.list", "POST": "database.manage"}

    @extend_schema(
        operation_id="listDatabaseConnections",
        tags=TAGS,
        parameters=[ORG_ID],
        responses={200: ConnectionSerializer(many=True), **errors(403, 404)},
    )
    def get(self, request: Request, org_id: int) -> Response:
        found = selectors.connection_list(organization=self.organization)
        return Response(ConnectionSerializer(found, many=True).data)

    @extend_schema(
        operation_id="createDatabaseConnection",
        tags=TAGS,
        parameters=[ORG_ID],
        request=ConnectionCreateSerializer,
        responses={201: ConnectionSerializer, **errors(400, 403, 404, 503)},
        description=(
            "Adds a database the org's roles issue users in (admin). OpenBao connects to it "
            "to check it first (loopback and private networks only where the operator "
            "allows them); the password goes to OpenBao and is never answered or stored."
        ),
    )
    def post(self, request: Request, org_id: int) -> Response:
        data = valid(ConnectionCreateSerializer(data=request.data))
        given = services.ConnectionInput(
            name=data["name"],
            engine=data["engine"],
            host=data["host"],
            port=data.get("port"),
            database=data["database"],
            username=data["username"],
            password=data["password"],
            tls_mode=data["tlsMode"],
        )
        row = services.connection_create(
            actor=self.membership, organization=self.organization, given=given
        )
        return Response(ConnectionSerializer(row).data, status=status.HTTP_201_CREATED)


class ConnectionDetailView(OrgScopedAPIView):
    policy_actions = {
        "GET": "database.list",
        "PATCH": "database.manage",
        "DELETE": "database.manage",
    }

    def connection(self, connection_id: int) -> Any:
        return selectors.connection_get(organization=self.organization, connection_id=connection_id)

    @extend_schema(
        operation_id="getDatabaseConnection",
        tags=TAGS,
        parameters=[ORG_ID, CONNECTION_ID],
        responses={200: ConnectionSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, org_id: int, connection_id: int) -> Response:
        return Response(ConnectionSerializer(self.connection(connection_id)).data)

    @extend_schema(
        operation_id="updateDatabaseConnection",
        tags=TAGS,
        parameters=[ORG_ID, CONNECTION_ID],
        request=ConnectionUpdateSerializer,
        responses={200: ConnectionSerializer, **errors(400, 403, 404, 503)},
        description="Changes where it points or its root password; checked again (admin).",
    )
    def patch(self, request: Request, org_id: int, connection_id: int) -> Response:
        data = valid(ConnectionUpdateSerializer(data=request.data))
        if "tlsMode" in data:
            data["tls_mode"] = data.pop("tlsMode")
        row = services.connection_update(
            actor=self.membership, connection=self.connection(connection_id), changes=data
        )
        return Response(ConnectionSerializer(row).data)

    @extend_schema(
        operation_id="deleteDatabaseConnection",
        tags=TAGS,
        parameters=[ORG_ID, CONNECTION_ID],
        responses={204: None, **errors(403, 404, 409, 503)},
        description="Removes a connection without roles (admin).",
    )
    def delete(self, request: Request, org_id: int, connection_id: int) -> Response:
        services.connection_delete(actor=self.membership, connection=self.connection(connection_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RotateRootView(OrgScopedAPIView):
    policy_actions = {"POST": "database.manage"}

    @extend_schema(
        operation_id="rotateDatabaseRoot",
        tags=TAGS,
        parameters=[ORG_ID, CONNECTION_ID],
        request=None,
        responses={200: ConnectionSerializer, **errors(400, 403, 404, 503)},
        description="Replaces the root password by one only OpenBao knows (admin).",
    )
    def post(self, request: Request, org_id: int, connection_id: int) -> Response:
        row = selectors.connection_get(organization=self.organization, connection_id=connection_id)
        return Response(
            ConnectionSerializer(services.rotate_root(actor=self.membership, connection=row)).data
        )


class RoleListView(OrgScopedAPIView):
    policy_actions = {"GET": "database.list", "POST": "database.manage"}

    @extend_schema(
        operation_id="listDatabaseRoles",
        tags=TAGS,
        parameters=[ORG_ID, CONNECTION_ID],
        responses={200: RoleSerializer(many=True), **errors(403, 404)},
    )
    def get(self, request: Request, org_id: int, connection_id: int) -> Response:
        row = selectors.connection_get(organization=self.organization, connection_id=connection_id)
        return Response(RoleSerializer(row.roles.all(), many=True).data)

    @extend_schema(
        operation_id="createDatabaseRole",
        tags=TAGS,
        parameters=[ORG_ID, CONNECTION_ID],
        request=RoleWriteSerializer,
        responses={201: RoleSerializer, **errors(400, 403, 404, 503)},
        description="Adds a role: a preset on a schema or custom statements, and TTLs (admin).",
    )
    def post(self, request: Request, org_id: int, connection_id: int) -> Response:
        row = selectors.connection_get(organization=self.organization, connection_id=connection_id)
        given = roles.RoleInput(**role_changes(valid(RoleWriteSerializer(data=request.data))))
        role = roles.role_create(actor=self.membership, connection=row, given=given)
        return Response(RoleSerializer(role).data, status=status.HTTP_201_CREATED)


class RoleDetailView(OrgScopedAPIView):
    policy_actions = {
        "GET": "database.list",
        "PATCH": "database.manage",
        "DELETE": "database.manage",
    }

    def role(self, role_id: int) -> Any:
        return selectors.role_get(organization=self.organization, role_id=role_id)

    @extend_schema(
        operation_id="getDatabaseRole",
        tags=TAGS,
        parameters=[ORG_ID, ROLE_ID],
        responses={200: RoleSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, org_id: int, role_id: int) -> Response:
        return Response(RoleSerializer(self.role(role_id)).data)

    @extend_schema(
        operation_id="updateDatabaseRole",
        tags=TAGS,
        parameters=[ORG_ID, ROLE_ID],
        request=RoleWriteSerializer,
        responses={200: RoleSerializer, **errors(400, 403, 404, 503)},
    )
    def patch(self, request: Request, org_id: int, role_id: int) -> Response:
        changes = role_changes(valid(RoleWriteSerializer(data=request.data)))
        role = roles.role_update(actor=self.membership, role=self.role(role_id), changes=changes)
        return Response(RoleSerializer(role).data)

    @extend_schema(
        operation_id="deleteDatabaseRole",
        tags=TAGS,
        parameters=[ORG_ID, ROLE_ID],
        responses={204: None, **errors(403, 404, 409, 503)},
        description="Removes a role that is not installed; its live credentials are revoked.",
    )
    def delete(self, request: Request, org_id: int, role_id: int) -> Response:
        roles.role_delete(actor=self.membership, role=self.role(role_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CredentialsView(OrgScopedAPIView):
    policy_actions = {"POST": "database.credentials"}

    @extend_schema(
        operation_id="issueDatabaseCredentials",
        tags=TAGS,
        parameters=[ORG_ID, ROLE_ID],
        request=None,
        responses={201: CredentialsSerializer, **errors(400, 403, 404, 503)},
        description=(
            "New credentials (a database user made now), valid for the role's TTL. The "
            "password is in this answer only (member)."
        ),
    )
    def post(self, request: Request, org_id: int, role_id: int) -> Response:
        role = selectors.role_get(organization=self.organization, role_id=role_id)
        issued = credentials.issue(actor=self.membership, role=role)
        body = CredentialsSerializer(issued.lease, context={"password": issued.password})
        return Response(body.data, status=status.HTTP_201_CREATED)


class LeaseListView(OrgScopedAPIView):
    policy_actions = {"GET": "database.leases"}

    @extend_schema(
        operation_id="listDatabaseLeases",
        tags=TAGS,
        parameters=[ORG_ID, ROLE_ID],
        responses={200: LeaseSerializer(many=True), **errors(403, 404)},
        description="The role's live credentials, newest first (never a password; member).",
    )
    def get(self, request: Request, org_id: int, role_id: int) -> Response:
        role = selectors.role_get(organization=self.organization, role_id=role_id)
        found = credentials.leases(actor=self.membership, role=role)
        return Response(LeaseSerializer(found, many=True).data)


class LeaseDetailView(OrgScopedAPIView):
    policy_actions = {"DELETE": "database.revoke"}

    @extend_schema(
        operation_id="revokeDatabaseLease",
        tags=TAGS,
        parameters=[ORG_ID, LEASE_ID],
        responses={204: None, **errors(400, 403, 404, 503)},
        description="Revokes credentials now: the database user is dropped (member).",
    )
    def delete(self, request: Request, org_id: int, lease_id: str) -> Response:
        credentials.revoke(
            actor=self.membership, organization=self.organization, public_id=lease_id
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class InstallListView(OrgScopedAPIView):
    policy_actions = {"GET": "database.list", "POST": "database.install"}

    @extend_schema(
        operation_id="listDatabaseInstalls",
        tags=TAGS,
        parameters=[ORG_ID, ROLE_ID],
        responses={200: InstallSerializer(many=True), **errors(403, 404)},
    )
    def get(self, request: Request, org_id: int, role_id: int) -> Response:
        role = selectors.role_get(organization=self.organization, role_id=role_id)
        return Response(InstallSerializer(selectors.installs_of(role=role), many=True).data)

    @extend_schema(
        operation_id="installDatabaseRole",
        tags=TAGS,
        parameters=[ORG_ID, ROLE_ID],
        request=InstallRequestSerializer,
        responses={201: InstallResponseSerializer, **errors(400, 403, 404, 409, 503)},
        description=(
            "Installs fresh credentials of the role into a namespace as a Secret (keys "
            "username, password, host, port, database, uri), kept in a managed secret tagged "
            "`dynamic:database`. The worker renews them, replaces them before the role's max "
            "TTL (restarting the named workloads) and revokes them when the copy is removed."
        ),
    )
    def post(self, request: Request, org_id: int, role_id: int) -> Response:
        role = selectors.role_get(organization=self.organization, role_id=role_id)
        data = valid(InstallRequestSerializer(data=request.data))
        cluster = cluster_selectors.cluster_get(
            organization=self.organization, cluster_id=data["clusterId"]
        )
        item, results = installs.install(
            actor=self.membership,
            role=role,
            cluster=cluster,
            namespace=data["namespace"],
            workload_list=data.get("workloads"),
            name=data.get("name"),
        )
        body = InstallResponseSerializer({"install": item, "results": results})
        return Response(body.data, status=status.HTTP_201_CREATED)
