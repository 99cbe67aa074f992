"""/metrics (off by default, token-protected when configured) and JSON logs with the request
id on every line."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from pipeline_secrets.core.logsafe import JsonFormatter

pytestmark = pytest.mark.django_db


def test_metrics_are_not_public_by_default(client: Any, settings: Any) -> None:
    assert client.get("/metrics").status_code == 404
    # Switched on without a token, they stay off: there is no unauthenticated scrape.
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = None
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "scrape-token-123"
    for sent in ("", "Bearer", "Bearer wrong", "Basic scrape-token-123", "scrape-token-123"):
        assert client.get("/metrics", HTTP_AUTHORIZATION=sent).status_code == 401


def test_metrics_count_requests_by_route_and_vault_calls_without_values(
    vault: Any, personas: Any, clients: dict[str, Any], client: Any, settings: Any
) -> None:
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = "scrape-token-123"
    url = f"/api/v1/orgs/{personas.org.pk}/secrets"
    created = clients["member"].post(
        url, {"name": "m", "type": "generic", "values": {"k": "metric-canary"}}, format="json"
    )
    assert created.status_code == 201
    assert client.get("/metrics").status_code == 401
    answer = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-123")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/plain")
    text = answer.content.decode()
    assert (
        'pipeline_secrets_http_requests_total{method="POST",'
        'route="/api/v1/orgs/<id:org_id>/secrets",status="201"}'
    ) in text
    assert 'pipeline_secrets_vault_call_seconds_count{operation="write",outcome="ok"}' in text
    assert "pipeline_secrets_sync_backlog" in text
    assert "metric-canary" not in text and str(created.json()["id"]) not in text


def test_json_logs_carry_the_request_id_on_every_line(
    vault: Any, personas: Any, clients: dict[str, Any], app_log: io.StringIO
) -> None:
    root = logging.getLogger()
    handler = next(h for h in root.handlers if isinstance(h, logging.StreamHandler))
    saved = handler.formatter
    handler.setFormatter(JsonFormatter())
    try:
        answer = clients["member"].post(
            f"/api/v1/orgs/{personas.org.pk}/secrets",
            {"name": "j", "type": "generic", "values": {"k": "json-canary"}},
            format="json",
            HTTP_X_REQUEST_ID="req-json-0123456789",
        )
    finally:
        handler.setFormatter(saved)
    assert answer.status_code == 201 and answer["X-Request-ID"] == "req-json-0123456789"
    lines = [json.loads(line) for line in app_log.getvalue().splitlines() if line.strip()]
    assert lines and all(line["request_id"] == "req-json-0123456789" for line in lines)
    assert any(line["logger"] == "secrets_app.writes" for line in lines)
    assert "json-canary" not in app_log.getvalue()


def test_vault_outage_answers_503_with_retry_after(
    personas: Any, clients: dict[str, Any], settings: Any
) -> None:
    settings.VAULT_ADDR = "http://127.0.0.1:9,http://127.0.0.1:10"
    settings.VAULT_TOKEN = "s.irrelevant"
    answer = clients["member"].post(
        f"/api/v1/orgs/{personas.org.pk}/secrets",
        {"name": "r", "type": "generic", "values": {"k": "v"}},
        format="json",
    )
    assert answer.status_code == 503 and int(answer["Retry-After"]) >= 1


def test_installs_count_and_time_their_kubernetes_calls(
    vault: Any, personas: Any, clients: dict[str, Any], kube_control_plane: Any
) -> None:
    from prometheus_client import REGISTRY

    from tests.test_clusters import clusters_url, create_secret, new_namespace, register

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    org = personas.org.pk
    cluster = register(clients["admin"], org, "dev", kube_control_plane.admin_kubeconfig())
    create_secret(clients["member"], org, "db", "generic", {"k": "kube-metric-canary"}, ["m"])
    created = "pipeline_secrets_kube_call_seconds_count"
    before = sample(created, operation="secret.create", outcome="ok")
    installed = sample("pipeline_secrets_installs_total", result="installed")
    answer = clients["member"].post(
        f"{clusters_url(org)}/{cluster['id']}/secrets",
        {"namespace": new_namespace(), "query": {"tags": ["m"]}},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert sample(created, operation="secret.create", outcome="ok") == before + 1
    assert sample("pipeline_secrets_installs_total", result="installed") == installed + 1


def test_every_problem_document_names_the_request_id(
    vault: Any, personas: Any, clients: dict[str, Any]
) -> None:
    missing = clients["viewer"].get(f"/api/v1/orgs/{personas.org.pk}/secrets/{'0' * 64}")
    invalid = clients["member"].post(
        f"/api/v1/orgs/{personas.org.pk}/secrets", {"name": "Bad Name"}, format="json"
    )
    anonymous = clients["anonymous"].get(f"/api/v1/orgs/{personas.org.pk}/secrets")
    for answer, status in ((missing, 404), (invalid, 400), (anonymous, 401)):
        assert answer.status_code == status
        assert answer.json()["requestId"] == answer["X-Request-ID"] != ""


def test_a_database_outage_is_a_503_to_retry() -> None:
    from django.db import OperationalError
    from rest_framework.test import APIRequestFactory

    from pipeline_secrets.core.api.exceptions import problem_exception_handler

    request = APIRequestFactory().get("/api/v1/orgs")
    answer = problem_exception_handler(
        OperationalError("connection refused to db-host"), {"request": request}
    )
    assert answer is not None and answer.status_code == 503
    assert answer["Retry-After"] == "5"
    assert "db-host" not in str(answer.data) and answer.data["code"] == 503


def test_an_exited_workers_live_gauges_are_dropped(tmp_path: Any, monkeypatch: Any) -> None:
    from types import SimpleNamespace

    from pipeline_secrets import gunicorn_conf

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    gone, alive = tmp_path / "gauge_livesum_4242.db", tmp_path / "gauge_livesum_4243.db"
    gone.write_bytes(b"")
    alive.write_bytes(b"")
    gunicorn_conf.child_exit(None, SimpleNamespace(pid=4242))
    assert not gone.exists() and alive.exists()


def test_the_periodic_backlog_is_measured_at_each_scrape(
    personas: Any, client: Any, settings: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone
    from prometheus_client import REGISTRY

    from clusters.models import Cluster, Installation

    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = "scrape-token-123"
    cluster = Cluster.objects.create(
        organization=personas.org, name="dev", kubeconfig_secret_id="0" * 64
    )
    for name, status in (("due", "installed"), ("broken", "failed")):
        Installation.objects.create(
            cluster=cluster,
            namespace="ns",
            secret_id="1" * 64,
            secret_name=name,
            kube_name=name,
            version=1,
            sourcing="env",
            status=status,
            expires_at=timezone.now() - timedelta(minutes=5) if name == "due" else None,
        )
    # No periodic run happened in this process: the scrape itself reads the queue.
    scrape = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-123")
    assert scrape.status_code == 200
    assert REGISTRY.get_sample_value("pipeline_secrets_sync_backlog") == 2
    assert (REGISTRY.get_sample_value("pipeline_secrets_sync_lag_seconds") or 0) >= 300
