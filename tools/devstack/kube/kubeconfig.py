"""Kubeconfig files for the local control plane."""

from __future__ import annotations

import base64
import json

CLUSTER_NAME = "pipeline-secrets-local"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def kubeconfig_yaml(
    *,
    server: str,
    ca_pem: bytes,
    user: str,
    cert_pem: bytes,
    key_pem: bytes,
    namespace: str = "default",
    cluster: str = CLUSTER_NAME,
) -> str:
    """A kubeconfig with one cluster, one user and one context, which is current."""
    context = f"{user}@{cluster}"
    # Every value is quoted as a JSON string, which is valid YAML whatever it contains.
    q = json.dumps
    return (
        "apiVersion: v1\n"
        "kind: Config\n"
        "preferences: {}\n"
        "clusters:\n"
        f"- name: {q(cluster)}\n"
        "  cluster:\n"
        f"    server: {q(server)}\n"
        f"    certificate-authority-data: {_b64(ca_pem)}\n"
        "users:\n"
        f"- name: {q(user)}\n"
        "  user:\n"
        f"    client-certificate-data: {_b64(cert_pem)}\n"
        f"    client-key-data: {_b64(key_pem)}\n"
        "contexts:\n"
        f"- name: {q(context)}\n"
        "  context:\n"
        f"    cluster: {q(cluster)}\n"
        f"    user: {q(user)}\n"
        f"    namespace: {q(namespace)}\n"
        f"current-context: {q(context)}\n"
    )
