"""Liveness and readiness probes."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from pipeline_secrets.core.metrics import exposition
from secrets_app import vault


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready when the database answers and Vault is reachable, initialised and unsealed."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"failing ({type(exc).__name__})"
    vault_ok, reason = vault.health()
    checks["vault"] = reason
    ready = checks["database"] == "ok" and vault_ok
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics; a 404 unless ``METRICS_ENABLED``, and with ``METRICS_TOKEN`` set
    only for a scraper sending it as a bearer token."""
    if not settings.METRICS_ENABLED:
        raise Http404("Not found.")
    expected = settings.METRICS_TOKEN
    if expected:
        sent = request.META.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(sent.encode(), str(expected).encode()):
            return HttpResponse("unauthorized\n", status=401, content_type="text/plain")
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)
