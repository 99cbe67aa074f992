"""The agent routes' authentication: an agent-mode cluster's token, and nothing else.

An agent token is accepted here only (the API's token authentication does not know it);
a person's session or API token is not accepted here. Each call records the agent's
heartbeat: when it was last seen, and the version it says it runs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from clusters.agent import tokens
from clusters.models import Cluster

VERSION_HEADER = "HTTP_X_AGENT_VERSION"
# A heartbeat is written at most this often per agent.
SEEN_EVERY = timedelta(seconds=5)


class AgentPrincipal:
    """``request.user`` on the agent routes: the cluster's agent, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.username = f"cluster:{cluster.name}"

    def __str__(self) -> str:
        return self.username


def record_heartbeat(cluster: Cluster, version: str) -> None:
    now = timezone.now()
    version = version[:64]
    seen = cluster.agent_seen_at
    if seen is not None and now - seen < SEEN_EVERY and version == cluster.agent_version:
        return
    cluster.agent_seen_at = now
    cluster.agent_version = version or cluster.agent_version
    Cluster.objects.filter(pk=cluster.pk).update(
        agent_seen_at=now, agent_version=cluster.agent_version
    )


class AgentTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer psa_...``: the agent of the cluster holding that token."""

    def authenticate(self, request: Request) -> tuple[AgentPrincipal, Cluster] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return None
        cluster = tokens.cluster_for_token(raw.strip())
        if cluster is None:
            raise exceptions.AuthenticationFailed("Unknown, rotated or revoked agent token.")
        record_heartbeat(cluster, str(request.META.get(VERSION_HEADER, "")))
        return AgentPrincipal(cluster), cluster

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="agent"'


class IsAgent(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, AgentPrincipal)


class AgentTokenScheme(OpenApiAuthenticationExtension):
    """Documents the agent token in the OpenAPI schema."""

    target_class = "clusters.agent.auth.AgentTokenAuthentication"
    name = "agentToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer"
        )
