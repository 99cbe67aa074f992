"""Clusters API: thin views over ``clusters.services`` and ``clusters.selectors``."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from clusters import deletion, namespaces, selectors, services, single
from clusters.agent import registration, tokens
from clusters.api.serializers import (
    NAMESPACE_PATTERNS_HELP,
    SCOPE_HELP,
    AgentTokenSerializer,
    ClusterCreatedSerializer,
    ClusterCreateSerializer,
    ClusterSecretSerializer,
    ClusterSerializer,
    ClusterUpdateSerializer,
    InstallOneResponseSerializer,
    InstallOneSerializer,
    InstallResultSerializer,
    InstallSerializer,
    NamespaceRuleSerializer,
)
from clusters.models import Cluster
from orgs import policy
from orgs.scoping import OrgScopedAPIView
from pipeline_secrets.core.api.params import flag
from pipeline_secrets.core.api.schema import ORG_ID, VALIDATE, errors, id_parameter
from secrets_app.types import Context

CLUSTER_ID = id_parameter("cluster_id")


class ClusterListView(OrgScopedAPIView):
    policy_actions = {"GET": "cluster.list", "POST": "cluster.manage"}

    @extend_schema(
        operation_id="listClusters",
        tags=["clusters"],
        parameters=[ORG_ID],
        responses={200: ClusterSerializer(many=True), **errors(404)},
    )
    def get(self, request: Request, org_id: int) -> Response:
        clusters = selectors.cluster_list(organization=self.organization)
        return Response(ClusterSerializer(clusters, many=True).data)

    @extend_schema(
        operation_id="createCluster",
        tags=["clusters"],
        parameters=[ORG_ID, VALIDATE],
        request=ClusterCreateSerializer,
        responses={201: ClusterCreatedSerializer, **errors(400, 403, 404, 409, 413, 503)},
        description=(
            "Registers a cluster. `mode: kubeconfig` (the default): from a kubernetes secret "
            "(`secretId`) or a kubeconfig, which becomes a kubernetes secret `<name>-kubeconfig` "
            "tagged `cluster:<name>`. `mode: agent`: no kubeconfig; the answer holds the "
            "agent's token (`agentToken`), shown this once, and `scope` says what the agent "
            "may receive (default: nothing)."
        ),
    )
    def post(self, request: Request, org_id: int) -> Response:
        body = ClusterCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data["mode"] == Cluster.Mode.AGENT:
            cluster, raw = registration.agent_cluster_create(
                actor=self.membership,
                organization=self.organization,
                name=data["name"],
                scope=data.get("scope"),
            )
            answer = ClusterCreatedSerializer(cluster, context={"agentToken": raw})
            return Response(answer.data, status=status.HTTP_201_CREATED)
        cluster = services.cluster_create(
            actor=self.membership,
            organization=self.organization,
            name=data["name"],
            secret_id=data.get("secretId"),
            kubeconfig=data.get("kubeconfig"),
            ctx=Context(verify_remote=flag(request, "validate", default=True)),
        )
        return Response(ClusterCreatedSerializer(cluster).data, status=status.HTTP_201_CREATED)


class ClusterDetailView(OrgScopedAPIView):
    policy_actions = {"GET": "cluster.view", "PATCH": "cluster.manage", "DELETE": "cluster.manage"}

    @extend_schema(
        operation_id="getCluster",
        tags=["clusters"],
        parameters=[
            ORG_ID,
            CLUSTER_ID,
            OpenApiParameter(
                "check",
                OpenApiTypes.BOOL,
                description=(
                    "Check reachability now (the member role: it contacts the cluster). An "
                    "agent cluster is never contacted: its agent's last call tells."
                ),
            ),
        ],
        responses={200: ClusterSerializer, **errors(403, 404, 503)},
    )
    def get(self, request: Request, org_id: int, cluster_id: int) -> Response:
        check = flag(request, "check")
        if check:
            policy.require(self.membership, "cluster.check")
        cluster = selectors.cluster_get(organization=self.organization, cluster_id=cluster_id)
        if check:
            cluster = services.cluster_check(cluster=cluster)
        return Response(ClusterSerializer(cluster).data)

    @extend_schema(
        operation_id="updateCluster",
        tags=["clusters"],
        parameters=[ORG_ID, CLUSTER_ID],
        request=ClusterUpdateSerializer,
        responses={200: ClusterSerializer, **errors(400, 403, 404)},
        description=(
            "Changes what is given (admin role): `scope`, of an agent cluster (a kubeconfig "
            "cluster has none: 400); its agent is told to reconcile. " + SCOPE_HELP
        ),
    )
    def patch(self, request: Request, org_id: int, cluster_id: int) -> Response:
        cluster = selectors.cluster_get(organization=self.organization, cluster_id=cluster_id)
        body = ClusterUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if "scope" in body.validated_data:
            cluster = registration.set_scope(
                actor=self.membership, cluster=cluster, scope=body.validated_data["scope"]
            )
        return Response(ClusterSerializer(cluster).data)

    @extend_schema(
        operation_id="deleteCluster",
        tags=["clusters"],
        parameters=[ORG_ID, CLUSTER_ID],
        responses={204: None, **errors(403, 404, 503)},
        description="Removes the cluster at once; the worker then removes its installed copies.",
    )
    def delete(self, request: Request, org_id: int, cluster_id: int) -> Response:
        cluster = selectors.cluster_get(organization=self.organization, cluster_id=cluster_id)
        deletion.cluster_delete(actor=self.membership, cluster=cluster)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AgentTokenView(OrgScopedAPIView):
    """An agent cluster's token: admins rotate it (the new one shown once) or revoke it."""

    policy_actions = {"POST": "cluster.manage", "DELETE": "cluster.manage"}

    @extend_schema(
        operation_id="rotateAgentToken",
        tags=["clusters"],
        parameters=[ORG_ID, CLUSTER_ID],
        request=None,
        responses={201: AgentTokenSerializer, **errors(403, 404, 409)},
        description=(
            "A new token for the agent cluster's agent, shown this once; the old one stops "
            "working at once. A kubeconfig cluster has none (409)."
        ),
    )
    def post(self, request: Request, org_id: int, cluster_id: int) -> Response:
        cluster = selectors.cluster_get(organization=self.organization, cluster_id=cluster_id)
        raw = tokens.rotate_token(actor=self.membership, cluster=cluster)
        answer = AgentTokenSerializer({"agentToken": raw})
        return Response(answer.data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="revokeAgentToken",
        tags=["clusters"],
        parameters=[ORG_ID, CLUSTER_ID],
        responses={204: None, **errors(403, 404, 409)},
        description="The agent's token stops working; a rotation gives it a new one.",
    )
    def delete(self, request: Request, org_id: int, cluster_id: int) -> Response:
        cluster = selectors.cluster_get(organization=self.organization, cluster_id=cluster_id)
        tokens.revoke_token(actor=self.membership, cluster=cluster)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClusterNamespaceRuleView(OrgScopedAPIView):
    """The cluster's namespace rule: everyone who sees the cluster reads it, admins set it
    (the service asks the policy for ``cluster.manage`` too)."""

    policy_actions = {"GET": "cluster.view", "PUT": "cluster.manage"}

    @extend_schema(
        operation_id="getClusterNamespaceRule",
        tags=["clusters"],
        parameters=[ORG_ID, CLUSTER_ID],
        responses={200: NamespaceRuleSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, org_id: int, cluster_id: int) -> Response:
        cluster = selectors.cluster_get(organization=self.organization, cluster_id=cluster_id)
        return Response(NamespaceRuleSerializer(namespaces.rule_of(cluster)).data)

    @extend_schema(
        operation_id="setClusterNamespaceRule",
        tags=["clusters"],
        parameters=[ORG_ID, CLUSTER_ID],
        request=NamespaceRuleSerializer,
        responses={200: NamespaceRuleSerializer, **errors(400, 403, 404)},
        description="Replaces the rule (admin role). " + NAMESPACE_PATTERNS_HELP,
    )
    def put(self, request: Request, org_id: int, cluster_id: int) -> Response:
        cluster = selectors.cluster_get(organization=self.organization, cluster_id=cluster_id)
        body = NamespaceRuleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cluster = namespaces.set_rule(
            actor=self.membership,
            cluster=cluster,
            allow=body.validated_data["allow"],
            deny=body.validated_data["deny"],
        )
        return Response(NamespaceRuleSerializer(namespaces.rule_of(cluster)).data)


class ClusterSecretsView(OrgScopedAPIView):
    policy_actions = {"GET": "cluster.view", "POST": "cluster.install"}

    @extend_schema(
        operation_id="listClusterSecrets",
        tags=["clusters"],
        parameters=[ORG_ID, CLUSTER_ID],
        responses={200: ClusterSecretSerializer(many=True), **errors(404)},
        description=(
            "The secrets installed in the cluster, one entry per installed copy: the secret as "
            'the secrets list shows it (values masked as "<hidden>") and how it is installed '
            "(namespace, Secret name, status, installed version, expiry, last error)."
        ),
    )
    def get(self, request: Request, org_id: int, cluster_id: int) -> Response:
        cluster = selectors.cluster_get(organization=self.organization, cluster_id=cluster_id)
        entries = selectors.installed_secrets(cluster=cluster)
        return Response(ClusterSecretSerializer(entries, many=True).data)

    @extend_schema(
        operation_id="installSecrets",
        tags=["clusters"],
        parameters=[ORG_ID, CLUSTER_ID],
        request=InstallSerializer,
        responses={
            200: InstallResultSerializer(many=True),
            **errors(400, 403, 404, 413, 502, 503),
        },
        description=(
            "Installs the selected secrets as v1.Secrets into the namespace (created when "
            "missing) and answers how each is meant to be consumed (`volume` or `env`). "
            "Each item has a status; a failed item has an error and does not stop the others. "
            "`overwrite` needs the admin role."
        ),
    )
    def post(self, request: Request, org_id: int, cluster_id: int) -> Response:
        cluster = selectors.cluster_get(organization=self.organization, cluster_id=cluster_id)
        body = InstallSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        query = data["query"]
        tags = list(query.get("tags") or []) + ([query["tag"]] if query.get("tag") else [])
        results = services.install(
            actor=self.membership,
            cluster=cluster,
            namespace=data["namespace"],
            query=services.InstallQuery(type=query.get("type"), tags=tags, ids=query["ids"]),
            overwrite=data["overwrite"],
            ttl=data.get("ttl"),
            workload_list=data.get("workloads"),
        )
        return Response(InstallResultSerializer(results, many=True).data)


SECRET_NAME = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, description="The v1.Secret's name."
)


class ClusterSecretDetailView(OrgScopedAPIView):
    policy_actions = {
        "POST": "cluster.install",
        "PATCH": "cluster.install",
        "DELETE": "cluster.uninstall",
    }

    @extend_schema(
        operation_id="installSecret",
        tags=["clusters"],
        parameters=[ORG_ID, CLUSTER_ID, SECRET_NAME],
        request=InstallOneSerializer,
        responses={200: InstallOneResponseSerializer, **errors(400, 403, 404, 409, 413, 502, 503)},
        description=(
            "Installs one secret (`sourceSecretName`, by default the one named like the Secret) "
            "as the v1.Secret `name` in `namespace` (created when missing). Without `spec` every "
            "field but the opaque ones is a key; with it, each key is `{source: field}`, "
            "`{value: text}`, `{sourceMap: {name: field}}` (a JSON object) or `{}` (all fields "
            "as JSON). A Secret of that name this product does not manage is a 409; one it "
            "manages is replaced. The mapping is kept, so updates of the secret re-sync it."
        ),
    )
    def post(self, request: Request, org_id: int, cluster_id: int, name: str) -> Response:
        return self._install(request, cluster_id, name, merge=False)

    @extend_schema(
        operation_id="mergeSecret",
        tags=["clusters"],
        parameters=[ORG_ID, CLUSTER_ID, SECRET_NAME],
        request=InstallOneSerializer,
        responses={200: InstallOneResponseSerializer, **errors(400, 403, 404, 413, 502, 503)},
        description=(
            "Like the install, but writes the keys into the existing v1.Secret `name`, keeping "
            "its other keys; a missing Secret is a 404. Merging into a Secret this product does "
            "not manage needs the admin role; that Secret keeps its labels and is never deleted "
            "by an uninstall, which takes out only the merged keys."
        ),
    )
    def patch(self, request: Request, org_id: int, cluster_id: int, name: str) -> Response:
        return self._install(request, cluster_id, name, merge=True)

    def _install(self, request: Request, cluster_id: int, name: str, *, merge: bool) -> Response:
        cluster = selectors.cluster_get(organization=self.organization, cluster_id=cluster_id)
        body = InstallOneSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        item, _ = single.install_one(
            actor=self.membership,
            cluster=cluster,
            name=name,
            namespace=data["namespace"],
            source=data.get("sourceSecretName"),
            spec=data.get("spec"),
            merge=merge,
            workload_list=data.get("workloads"),
        )
        return Response(InstallOneResponseSerializer(item).data)

    @extend_schema(
        operation_id="uninstallSecret",
        tags=["clusters"],
        parameters=[
            ORG_ID,
            CLUSTER_ID,
            SECRET_NAME,
            OpenApiParameter("namespace", OpenApiTypes.STR, required=True),
        ],
        responses={204: None, **errors(400, 403, 404, 502, 503)},
    )
    def delete(self, request: Request, org_id: int, cluster_id: int, name: str) -> Response:
        cluster = selectors.cluster_get(organization=self.organization, cluster_id=cluster_id)
        namespace = services.validate_label(request.query_params.get("namespace"), "namespace")
        services.uninstall(cluster=cluster, namespace=namespace, name=name, actor=self.membership)
        return Response(status=status.HTTP_204_NO_CONTENT)
