"""The one package that talks to Kubernetes, through the official client.

Every function takes a kubeconfig (YAML text) and uses an API client built from it, with
short timeouts. Failures become ``KubeError`` with the Kubernetes reason and a status;
nothing here logs or raises a Secret's data. A client, with its kept-alive TLS
connections, serves the calls that follow for the same kubeconfig text (see ``clients``).

Invariants:
- a kubeconfig holds its credentials inline: a file path, a plugin or a proxy anywhere in it
  is refused, when it is given and again when it is used (so one stored earlier is never
  followed); the client is built from a copy holding only the current context's server,
  TLS settings and inline credentials;
- the client connects only to that server, after ``pipeline_secrets.core.outbound`` allowed it
  (and checks the address it connected to), follows no redirect and uses no proxy;
- whatever the client raises becomes a ``KubeError`` carrying the status and the Kubernetes
  reason word, never a message of the client or of the server, and never chained.

The package: ``errors`` (KubeError and how client failures become one), ``clients`` (checking
a kubeconfig and the kept API clients built from it) and ``verbs`` (the calls themselves).
Other code imports ``clusters.kube`` only; these are its names.
"""

from __future__ import annotations

from clusters.kube.clients import check_kubeconfig
from clusters.kube.errors import KubeError, KubeRefusedError
from clusters.kube.verbs import (
    WORKLOAD_KINDS,
    SecretObject,
    SecretsClient,
    ensure_namespace,
    namespaces,
    secrets_client,
    server_version,
)
from secrets_app.types.kubeconfig_check import parse_kubeconfig, server_of

__all__ = [
    "WORKLOAD_KINDS",
    "KubeError",
    "KubeRefusedError",
    "SecretObject",
    "SecretsClient",
    "check_kubeconfig",
    "ensure_namespace",
    "namespaces",
    "parse_kubeconfig",
    "secrets_client",
    "server_of",
    "server_version",
]
