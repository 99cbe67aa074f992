"""The in-cluster agent stays apart from the server: an import of a server app from the
agent, or of the agent from a server app, breaks ``make lint`` (import-linter on a copy of
the tree with such an import added); the agent may import the Kubernetes client."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_import_contracts import lint_copy


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "pipeline_secrets_agent/reconcile.py",
            "from clusters import models  # noqa",
            "The in-cluster agent imports no part of the server BROKEN",
        ),
        (
            "pipeline_secrets_agent/server.py",
            "import orgs.policy  # noqa",
            "The in-cluster agent imports no part of the server BROKEN",
        ),
        (
            "clusters/services.py",
            "from pipeline_secrets_agent import reconcile  # noqa",
            "The server imports nothing of the in-cluster agent BROKEN",
        ),
    ],
)
def test_the_agent_and_the_server_importing_each_other_breaks_the_lint(
    repo_root: Path, tmp_path: Path, module: str, line: str, contract: str
) -> None:
    assert contract in lint_copy(repo_root, tmp_path, (module, line))


def test_the_agent_may_import_the_kubernetes_client(repo_root: Path, tmp_path: Path) -> None:
    output = lint_copy(
        repo_root, tmp_path, ("pipeline_secrets_agent/loop.py", "import kubernetes  # noqa")
    )
    assert "Only the Kubernetes client package imports kubernetes KEPT" in output, output
    assert "0 broken" in output, output
