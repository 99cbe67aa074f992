"""Request plumbing: the API's body-size guard, request ids and cache headers."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

from pipeline_secrets.core.logsafe import current_request_id
from pipeline_secrets.core.metrics import HTTP_LATENCY, HTTP_REQUESTS
from pipeline_secrets.core.problems import problem_response


class ApiBodyLimitMiddleware:
    """Refuse API requests whose declared body exceeds ``API_MAX_BODY_BYTES``.

    Runs before anything reads the body, so an oversized request is never parsed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit = settings.API_MAX_BODY_BYTES
            if length > limit:
                return problem_response(
                    413, f"The request body is {length} bytes; the limit is {limit}."
                )
        return self.get_response(request)


REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{8,64}")


def request_id(request: HttpRequest) -> str:
    """The id of this request, as ``RequestContextMiddleware`` set it (or ``-``)."""
    return str(getattr(request, "request_id", "-"))


class RequestContextMiddleware:
    """Gives every request an id (a well-formed incoming ``X-Request-ID`` or a new one),
    returns it, and marks every dynamic response as not to be stored by any cache: API
    answers carry values and tokens, and pages carry metadata of another tenant's eyes
    only. Static files are served before this runs and stay cacheable."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = (  # type: ignore[attr-defined]
            incoming if _REQUEST_ID_RE.fullmatch(incoming) else uuid.uuid4().hex
        )
        reset = current_request_id.set(request.request_id)  # type: ignore[attr-defined]
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(reset)
        _observe(request, response.status_code, time.perf_counter() - started)
        response[REQUEST_ID_HEADER] = request.request_id  # type: ignore[attr-defined]
        add_never_cache_headers(response)
        response["Pragma"] = "no-cache"
        return response


def _observe(request: HttpRequest, status: int, seconds: float) -> None:
    """Count the request under its URL pattern (never the path: it holds ids and names)."""
    match = getattr(request, "resolver_match", None)
    route = f"/{match.route}" if match is not None and match.route else "unmatched"
    method = request.method if request.method in _METHODS else "other"
    HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
    HTTP_LATENCY.labels(route=route, method=method).observe(seconds)


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
