"""Error pages: problem documents under /api/, HTML pages elsewhere."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.views.defaults import page_not_found, server_error

from pipeline_secrets.middleware import request_id


def _problem(status: int, title: str, detail: str) -> HttpResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return HttpResponse(json.dumps(body), status=status, content_type="application/problem+json")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return _problem(404, "Not found", "No such API endpoint or object.")
    return page_not_found(request, exception)


def internal_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        detail = f"An internal error occurred; it has been logged as request {request_id(request)}."
        return _problem(500, "Internal error", detail)
    return server_error(request)
