"""Request plumbing: the body-size guard, request ids and cache headers, and the
middleware only pages need, which API-token requests pass by (``PagesOnly``)."""

from __future__ import annotations

import io
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import csp.middleware
import django_htmx.middleware
from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import add_never_cache_headers
from django.utils.http import http_date

from pipeline_secrets.core.logsafe import current_request_id
from pipeline_secrets.core.metrics import HTTP_LATENCY, HTTP_REQUESTS
from pipeline_secrets.core.problems import problem_response


def body_limit(path: str) -> int:
    """The most bytes a request body to ``path`` may have (``REQUEST_BODY_LIMITS``)."""
    for prefix, limit in settings.REQUEST_BODY_LIMITS.items():
        if path.startswith(prefix):
            return int(limit)
    return int(settings.PAGE_MAX_BODY_BYTES)


def too_large(path: str, limit: int, length: int | None = None) -> HttpResponse:
    """The 413 problem for a body over ``limit``. A page's also carries ``limit`` and
    ``size`` (when known), so the page can say how much is too much; the API's keeps the
    problem shape its OpenAPI document gives."""
    size = f"{length} bytes" if length is not None else f"over {limit} bytes"
    detail = f"The request body is {size}; the limit is {limit}."
    if path.startswith("/api/"):
        return problem_response(413, detail)
    if length is None:
        return problem_response(413, detail, limit=limit)
    return problem_response(413, detail, limit=limit, size=length)


class BodyLimitMiddleware:
    """Refuse a request whose body exceeds its route's limit (``body_limit``) with 413, before
    anything reads, parses or spools it: a declared ``Content-Length`` is checked up front, a
    chunked body is counted while it is read and, within the limit, handed on from memory.
    (A WSGI server that does not end its input at the end of the body hands Django no
    chunked body at all.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = body_limit(request.path_info)
        declared = request.META.get("CONTENT_LENGTH")
        if declared:
            try:
                length = int(declared)
            except ValueError:
                length = 0  # as Django reads it: no body
            if length > limit:
                return too_large(request.path_info, limit, length)
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            refused = self._take_chunked(request, limit)
            if refused is not None:
                return refused
        return self.get_response(request)

    @staticmethod
    def _take_chunked(request: HttpRequest, limit: int) -> HttpResponse | None:
        environ = getattr(request, "environ", {})
        stream = environ.get("wsgi.input")
        if stream is None or not environ.get("wsgi.input_terminated"):
            return None
        body = stream.read(limit + 1)
        if len(body) > limit:
            return too_large(request.path_info, limit)
        # What HttpRequest.read() and the form parsers read, as for a declared length.
        request._stream = io.BytesIO(body)  # type: ignore[attr-defined]
        request.META["CONTENT_LENGTH"] = str(len(body))
        return None


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
        if "Cache-Control" in response or "Expires" in response:
            add_never_cache_headers(response)  # merges with what the view set
        else:
            # What add_never_cache_headers writes on a response without cache headers.
            response["Expires"] = http_date()
            response["Cache-Control"] = NEVER_CACHE
        response["Pragma"] = "no-cache"
        return response


NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


def _observe(request: HttpRequest, status: int, seconds: float) -> None:
    """Count the request under its URL pattern (never the path: it holds ids and names)."""
    match = getattr(request, "resolver_match", None)
    route = f"/{match.route}" if match is not None and match.route else "unmatched"
    method = request.method if request.method in _METHODS else "other"
    HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
    HTTP_LATENCY.labels(route=route, method=method).observe(seconds)


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


# --------------------------------------------------------------------------- API short cut


def is_api_token_request(request: HttpRequest) -> bool:
    """An API call with one of this product's tokens (``Authorization: Bearer pst_…``).

    Such a request is authenticated by its token alone (``orgs.authentication``): it never
    reads or writes a session, a message or a sign-in flow. A sign-in provider's bearer
    token, a session cookie and every page take the whole chain."""
    if not request.path_info.startswith("/api/"):
        return False
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, raw = header.partition(" ")
    return scheme.lower() == "bearer" and raw.strip().startswith(settings.API_TOKEN_PREFIX)


def by_api_token(request: HttpRequest) -> bool:
    """``is_api_token_request``, worked out once per request and kept on it."""
    found = getattr(request, "by_api_token", None)
    if found is None:
        found = is_api_token_request(request)
        request.by_api_token = found  # type: ignore[attr-defined]
    return bool(found)


class PagesOnly:
    """A middleware that only pages need: an API-token request (``by_api_token``) passes it
    by, straight on to the next one; every other request goes through it as usual."""

    def __call__(self, request: HttpRequest) -> Any:
        if by_api_token(request):
            return self.get_response(request)  # type: ignore[attr-defined]
        return super().__call__(request)  # type: ignore[misc]


class AuthenticationMiddleware(PagesOnly, auth.AuthenticationMiddleware):
    """The signed-in user of a session (a token names its user itself)."""


class MessageMiddleware(PagesOnly, messages.MessageMiddleware):
    """One-time messages shown on the next page."""


class HtmxMiddleware(PagesOnly, django_htmx.middleware.HtmxMiddleware):
    """``request.htmx``, for pages that answer htmx requests with a partial."""


# --------------------------------------------------------------------------- CSP


class CSPMiddleware(csp.middleware.CSPMiddleware):
    """django-csp's middleware, with the policy of a response that asks for nothing of its
    own (no nonce, no per-view policy) built once per settings object instead of on every
    response: the same header, from the same function."""

    _built: dict[bool, tuple[object, str]]

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)
        self._built = {}

    def _default_policy(self, report_only: bool) -> str:
        name = "CONTENT_SECURITY_POLICY_REPORT_ONLY" if report_only else "CONTENT_SECURITY_POLICY"
        source = getattr(settings, name, None)
        cached = self._built.get(report_only)
        if cached is not None and cached[0] is source:
            return cached[1]
        policy = build_policy(report_only=report_only)
        self._built[report_only] = (source, policy)
        return policy

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        own = ("_csp_config", "_csp_update", "_csp_replace")
        own_ro = ("_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")
        if (
            settings.DEBUG
            or getattr(request, "_csp_nonce", None) is not None
            or any(getattr(response, name, None) is not None for name in (*own, *own_ro))
        ):
            return super().process_response(request, response)
        for header, report_only, exempt in (
            (HEADER, False, "_csp_exempt"),
            (HEADER_REPORT_ONLY, True, "_csp_exempt_ro"),
        ):
            policy = self._default_policy(report_only)
            if not policy or header in response or getattr(response, exempt, False) is not False:
                continue
            name = (
                "CONTENT_SECURITY_POLICY_REPORT_ONLY" if report_only else "CONTENT_SECURITY_POLICY"
            )
            prefixes = (getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = policy
        # As django-csp does: a nonce asked for after the header was written is an error.
        request.csp_nonce = csp.middleware.CheckableLazyObject(  # type: ignore[attr-defined]
            self._csp_nonce_post_response
        )
        return response
