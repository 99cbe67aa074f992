"""Error pages: problem documents under /api/, HTML pages elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.defaults import page_not_found, server_error

from pipeline_secrets.core.middleware import request_id
from pipeline_secrets.core.problems import problem_response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem_response(404, "No such API endpoint or object.")
    return page_not_found(request, exception)


def internal_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        rid = request_id(request)
        detail = f"An internal error occurred; it has been logged as request {rid}."
        return problem_response(500, detail, requestId=rid)
    return server_error(request)
