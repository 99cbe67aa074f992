"""Liveness and readiness probes, and the Prometheus scrape.

Kubelets and Prometheus call a pod by its address (``Host: 10.1.2.3:8080``), which
``ALLOWED_HOSTS`` rightly refuses for everything else: ``ProbeMiddleware``, first in
``MIDDLEWARE``, answers these three paths before anything looks at the Host header. They
answer the same whichever host is named, and build no links from it.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

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
    """Prometheus metrics, only for a scraper sending ``METRICS_TOKEN`` as a bearer token:
    a 404 without a token configured (or with ``METRICS_ENABLED`` false), a 401 without the
    right one."""
    expected = settings.METRICS_TOKEN
    if not settings.METRICS_ENABLED or not expected:
        return HttpResponse("not found\n", status=404, content_type="text/plain")
    scheme, _, sent = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        sent.strip().encode(), str(expected).encode()
    ):
        response = HttpResponse("unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
    "/metrics": metrics,
}


class ProbeMiddleware:
    """Answers GET/HEAD of the probe and scrape paths whatever Host they name (see the module
    docstring); every other request goes on to the host check and the rest of the chain."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = PROBES.get(request.path_info)
        if view is not None and request.method in ("GET", "HEAD"):
            response = view(request)
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)
