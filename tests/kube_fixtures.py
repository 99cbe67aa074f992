"""A real Kubernetes control plane (etcd + kube-apiserver) for integration tests.

Import the fixture into tests/conftest.py:

    from tests.kube_fixtures import kube_control_plane  # noqa: F401

The first run builds the binaries with tools/kube/build.sh (several minutes; cached
afterwards under ~/.cache/pipeline-secrets/kube/, or $KUBE_BIN_DIR if set).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:  # e.g. pytest started from outside the repository
    sys.path.insert(0, _REPO_ROOT)

from tools.kube.controlplane import ControlPlane  # noqa: E402

__all__ = ["ControlPlane", "kube_control_plane"]


@pytest.fixture(scope="session")
def kube_control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    """A started ControlPlane shared by the whole session; stopped at the end.

    Each test should use its own namespace (namespaces cannot be deleted for good: no
    controller-manager runs to finalize them). Logs are in <work_dir>/kube-apiserver.log
    and <work_dir>/etcd.log.
    """
    control_plane = ControlPlane(tmp_path_factory.mktemp("kube"))
    control_plane.start()
    try:
        yield control_plane
    finally:
        control_plane.stop()
