"""Error pages: problem documents under /api/, HTML pages elsewhere."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.defaults import bad_request as default_bad_request
from django.views.defaults import page_not_found, server_error

from pipeline_secrets.core.middleware import request_id, too_large
from pipeline_secrets.core.problems import problem_response


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A form's fields over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (the body itself is within its
    route's limit) are too large, as the body limit says it: a 413 problem the page shows."""
    if isinstance(exception, RequestDataTooBig):
        return too_large(request.path_info, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return default_bad_request(request, exception)


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
