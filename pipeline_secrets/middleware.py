"""Request-size guard for the API: a body over the limit is a 413 problem, not a 500."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


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
                body = {
                    "type": "about:blank",
                    "title": "Request body too large",
                    "status": 413,
                    "detail": f"The request body is {length} bytes; the limit is {limit}.",
                }
                return HttpResponse(
                    json.dumps(body), status=413, content_type="application/problem+json"
                )
        return self.get_response(request)
