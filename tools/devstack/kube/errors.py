"""The errors of the local Kubernetes control plane (tools.devstack.kube)."""

from __future__ import annotations


class ControlPlaneError(RuntimeError):
    """The control plane could not be built, started or talked to."""


class KubeAPIError(ControlPlaneError):
    """The API server answered a request with an error status."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        super().__init__(f"{method} {path}: HTTP {status}: {body[:500]}")
