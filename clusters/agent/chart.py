"""How an agent is installed into its cluster: the ``helm install`` command of the chart
``deploy/helm/pipeline-secrets-agent``, as the cluster's page shows it with a new token."""

from __future__ import annotations

import shlex

from clusters.models import Cluster

CHART = "deploy/helm/pipeline-secrets-agent"
RELEASE = "pipeline-secrets-agent"
WILDCARDS = frozenset("*?[]!")


def literal_namespaces(cluster: Cluster) -> list[str]:
    """The scope's namespaces that are names, not patterns: the chart gives the agent
    rights in exactly these (a pattern's namespaces must be listed by hand)."""
    names = (cluster.scope or {}).get("namespaces") or []
    return [n for n in names if not WILDCARDS & set(n)]


def patterns(cluster: Cluster) -> list[str]:
    names = (cluster.scope or {}).get("namespaces") or []
    return [n for n in names if WILDCARDS & set(n)]


def install_command(*, cluster: Cluster, server_url: str, token: str) -> str:
    """The command, one option a line; holds the token, so it is shown once like it."""
    lines = [
        f"helm install {RELEASE} {CHART}",
        f"--namespace {RELEASE} --create-namespace",
        f"--set server.url={shlex.quote(server_url)}",
        f"--set agent.token={shlex.quote(token)}",
    ]
    namespaces = literal_namespaces(cluster)
    if namespaces:
        lines.append("--set " + shlex.quote("namespaces={" + ",".join(namespaces) + "}"))
    return " \\\n  ".join(lines)
