"""RFC 9457 problem documents: the one place their JSON is built.

``{"type", "title", "status", "detail", ...}``; the API's exception handler, the request
middleware and the error pages all answer with these. Each also carries the original
product's error members, which its clients read: ``code`` (= status), ``message``
(= detail) and ``error`` (= title).
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES = {
    400: "Invalid request",
    401: "Authentication required",
    403: "Permission denied",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal error",
    502: "Upstream error",
    503: "Service unavailable",
}


def problem_body(
    status: int, detail: str, *, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    title = title or TITLES.get(status, "Error")
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "code": status,
        "message": detail,
        "error": title,
    }
    body.update(extra)
    return body


def problem_response(
    status: int, detail: str, *, title: str | None = None, **extra: Any
) -> HttpResponse:
    """A problem document as a plain Django response (outside DRF)."""
    body = problem_body(status, detail, title=title, **extra)
    return HttpResponse(json.dumps(body), status=status, content_type=PROBLEM_CONTENT_TYPE)
