"""The agent routes (docs/agent-protocol.md): thin views over ``changes``, ``render`` and
``reports``. Only an agent token opens them (``auth``); everything they read or write
belongs to that token's cluster."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clusters.agent import changes, render, syncs
from clusters.agent import reports as agent_reports
from clusters.agent.auth import AgentTokenAuthentication, IsAgent
from clusters.models import Cluster
from orgs import policy
from pipeline_secrets.core.api.schema import errors

MAX_IDS = 5000


class AgentAPIView(APIView):
    authentication_classes = [AgentTokenAuthentication]
    permission_classes = [IsAgent]

    @property
    def cluster(self) -> Cluster:
        cluster = self.request.auth
        assert isinstance(cluster, Cluster)
        return cluster


def _int_param(request: Request, name: str, default: int | None, low: int, high: int) -> Any:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValidationError({name: f"Must be an integer from {low} to {high}."})
    return int(raw)


class AgentChangesView(AgentAPIView):
    policy_audience = {"GET": policy.AGENT}

    @extend_schema(
        operation_id="agentChanges",
        tags=["agent"],
        parameters=[
            OpenApiParameter("after", OpenApiTypes.INT, description="The agent's cursor."),
            OpenApiParameter("wait", OpenApiTypes.INT, description="Seconds to wait (1-55)."),
        ],
        responses={200: OpenApiTypes.OBJECT, **errors(400, 401)},
        description="The change events of the agent's cluster after its cursor (long-poll).",
    )
    def get(self, request: Request) -> Response:
        after = _int_param(request, "after", None, 0, 2**62)
        wait = _int_param(request, "wait", 25, 1, 55)
        return Response(changes.wait_for(self.cluster, after, wait).as_json())


def _installation_ids(value: Any) -> list[int] | str:
    if value == "all":
        return "all"
    if value is None:
        return []
    if (
        not isinstance(value, list)
        or len(value) > MAX_IDS
        or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in value)
    ):
        raise ValidationError(
            {"installations": f'Must be "all" or a list of at most {MAX_IDS} ids.'}
        )
    return value


def _count(body: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationError({name: f"Must be an integer from {low} to {high}."})
    return value


class AgentRenderView(AgentAPIView):
    policy_audience = {"POST": policy.AGENT}

    @extend_schema(
        operation_id="agentRender",
        tags=["agent"],
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT, **errors(400, 401, 503)},
        description="The desired Secrets of the agent's cluster, with their values.",
    )
    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        wanted = _installation_ids(body.get("installations"))
        raw_syncs = body.get("syncs") or []
        if not isinstance(raw_syncs, list) or len(raw_syncs) > MAX_IDS:
            raise ValidationError({"syncs": f"Must be a list of at most {MAX_IDS} objects."})
        page = render.Page(
            after=_count(body, "after", 0, 2**62) or 0, limit=_count(body, "limit", 1, MAX_IDS)
        )
        cursor = changes.current_cursor()
        reads = render.Reads(self.cluster)
        rendered = render.installations(self.cluster, wanted, reads, page)
        synced = syncs.render(self.cluster, raw_syncs, reads, every=bool(body.get("allSyncs")))
        reads.record()
        return Response(
            {
                "cursor": cursor,
                "clusterId": self.cluster.pk,
                "installations": rendered,
                "syncs": synced,
                "more": page.more,
                "after": page.after,
            }
        )


class AgentReportView(AgentAPIView):
    policy_audience = {"POST": policy.AGENT}

    @extend_schema(
        operation_id="agentReport",
        tags=["agent"],
        request=OpenApiTypes.OBJECT,
        responses={204: None, **errors(400, 401)},
        description="What the agent applied, failed to apply and repaired; a heartbeat.",
    )
    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        agent_reports.record(self.cluster, body)
        return Response(status=status.HTTP_204_NO_CONTENT)
