"""The ``pipeline-secrets-agent`` command (run as ``python -m pipeline_secrets_agent``, a
process of its own) and its thin client for the server, against a loopback listener
standing in for the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_secrets_agent import __version__
from pipeline_secrets_agent.server import ServerClient, ServerError, Unauthorized
from tests import test_agent_loop as base
from tests.listener import Listener, http_answer

# The fixtures of the agent's tests (an admin kubeconfig, a namespace).
kubeconfig, namespace = base.kubeconfig, base.namespace
TOKEN = "psa_" + "a" * 43


def agent(repo_root: Path, *args: str, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "pipeline_secrets_agent", *args],
        cwd=repo_root,
        env={"PATH": os.environ["PATH"], **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_and_version(repo_root: Path) -> None:
    helped = agent(repo_root, "--help")
    assert helped.returncode == 0, helped.stderr
    for flag in (
        "--server",
        "--kubeconfig",
        "--token-file",
        "--namespace",
        "--resync-interval",
        "--heartbeat-interval",
        "--log-level",
    ):
        assert flag in helped.stdout
    version = agent(repo_root, "--version")
    assert version.returncode == 0
    assert (
        version.stdout.strip()
        == f"pipeline-secrets-agent {__version__}"
        == ("pipeline-secrets-agent 0.1.0")
    )


def test_no_token_is_a_clear_error(repo_root: Path) -> None:
    result = agent(repo_root, "--server", "http://127.0.0.1:9")
    assert result.returncode != 0
    assert "No agent token: set PIPELINE_AGENT_TOKEN or pass --token-file." in result.stderr


def test_a_revoked_token_ends_the_agent_with_a_clear_message(
    repo_root: Path, kubeconfig: str, namespace: str, tmp_path: Path
) -> None:
    server = Listener(http_answer("401 Unauthorized", '{"detail": "no"}'))
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    try:
        result = agent(
            repo_root,
            "--server",
            server.origin,
            "--kubeconfig",
            kubeconfig,
            "--namespace",
            namespace,
            "--token-file",
            str(token_file),
        )
    finally:
        server.close()
    assert result.returncode == 1, result.stderr
    assert "refused the agent token (401)" in result.stderr
    request = server.requests[0].decode()
    assert request.startswith("POST /api/v1/agent/render ")
    assert f"Authorization: Bearer {TOKEN}" in request
    assert f"X-Agent-Version: {__version__}" in request
    # The token is sent, never logged.
    assert TOKEN not in result.stderr + result.stdout


def test_the_client_reads_changes_and_sends_reports() -> None:
    events = [{"id": 8, "kind": "installation", "installation": 5}]
    answer = json.dumps({"cursor": 8, "reset": False, "events": events})
    server = Listener(http_answer("200 OK", answer, content_type="application/json"))
    try:
        changes = ServerClient(server.origin, TOKEN).changes(7, 2)
        assert (changes.cursor, changes.reset, changes.events) == (8, False, events)
        assert server.requests[0].decode().startswith("GET /api/v1/agent/changes?wait=2&after=7 ")
    finally:
        server.close()
    server = Listener(http_answer("204 No Content"))
    try:
        ServerClient(server.origin, TOKEN).report()
        assert server.requests[0].decode().startswith("POST /api/v1/agent/report ")
    finally:
        server.close()


@pytest.mark.parametrize(
    ("status", "error"), [("401 Unauthorized", Unauthorized), ("503 Unavailable", ServerError)]
)
def test_the_client_names_the_route_and_status_only(status: str, error: type) -> None:
    server = Listener(http_answer(status, '{"detail": "secret-value"}'))
    try:
        with pytest.raises(error) as raised:
            ServerClient(server.origin, TOKEN).render(installations="all", syncs=[])
    finally:
        server.close()
    assert "secret-value" not in str(raised.value)
