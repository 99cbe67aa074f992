"""Prometheus metrics: HTTP requests, Vault and Kubernetes calls, installs and the periodic
job. Labels name routes, operations and outcomes only, never ids, names or values.

With several gunicorn workers, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory
writable by all of them (the Helm chart and ``make scale-up`` do): each worker then writes
its samples there and ``/metrics`` adds them up, whichever worker answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # The samples directory must exist before the first metric is created.
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "pipeline_secrets_http_requests_total",
    "HTTP requests answered, by route pattern, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "pipeline_secrets_http_request_seconds",
    "Time to answer an HTTP request, by route pattern and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
VAULT_CALLS = Histogram(
    "pipeline_secrets_vault_call_seconds",
    "Vault calls by operation and outcome (ok, transient: retried, error).",
    ["operation", "outcome"],
    buckets=LATENCY_BUCKETS,
)
KUBE_CALLS = Histogram(
    "pipeline_secrets_kube_call_seconds",
    "Kubernetes API calls by operation and outcome (ok, error).",
    ["operation", "outcome"],
    buckets=LATENCY_BUCKETS,
)
INSTALLS = Counter(
    "pipeline_secrets_installs_total",
    "Secrets installed into clusters (unchanged copies included), by result (installed, failed).",
    ["result"],
)
SYNC_ITEMS = Counter(
    "pipeline_secrets_sync_items_total",
    "Installations handled by the periodic job, by result (expired, retried, failed).",
    ["result"],
)
SYNC_BACKLOG = Gauge(
    "pipeline_secrets_sync_backlog",
    "Installations due (expired or failed) when the periodic job last looked.",
    multiprocess_mode="livemostrecent",
)
SYNC_LAG = Gauge(
    "pipeline_secrets_sync_lag_seconds",
    "Age of the oldest expired installation when the periodic job last looked.",
    multiprocess_mode="livemostrecent",
)
AGENT_PROPAGATION = Histogram(
    "pipeline_secrets_agent_propagation_seconds",
    "Agent clusters: from a change committed to its copy applied, as the agent reported it.",
    buckets=LATENCY_BUCKETS,
)
AGENT_DRIFT_REPAIRS = Counter(
    "pipeline_secrets_agent_drift_repairs_total",
    "Managed Secrets edited or deleted by hand in agent clusters, by whether the agent "
    "restored them.",
    ["repaired"],
)
AGENT_CONNECTIONS = Gauge(
    "pipeline_secrets_agent_connections",
    "Agents holding the change stream open now.",
    multiprocess_mode="livesum",
)


def observe_vault_call(operation: str, outcome: str, seconds: float) -> None:
    VAULT_CALLS.labels(operation=operation, outcome=outcome).observe(seconds)


def observe_kube_call(operation: str, outcome: str, seconds: float) -> None:
    KUBE_CALLS.labels(operation=operation, outcome=outcome).observe(seconds)


# Gauges measured when scraped (registered by the apps in their ready()): a periodic job run
# as a CronJob exits before any scrape, so what it would set is read from the database here.
_ON_SCRAPE: list[Callable[[], None]] = []


def on_scrape(measure: Callable[[], None]) -> None:
    if measure not in _ON_SCRAPE:
        _ON_SCRAPE.append(measure)


def exposition() -> tuple[bytes, str]:
    """The current samples in Prometheus' text format, and its content type."""
    for measure in _ON_SCRAPE:
        measure()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
