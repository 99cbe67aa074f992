"""The in-cluster agent of Pipeline Secrets (``pipeline-secrets-agent``).

It runs inside an agent-mode cluster, connects out to the server only and keeps the
cluster's managed Secrets equal to what the server renders for it (docs/agent-protocol.md).
It imports nothing of the server: it talks to the server's API and to Kubernetes.
"""

__version__ = "0.1.0"
