"""One exception handler for the whole API: every error is an RFC 9457 problem document.

``{"type", "title", "status", "detail", "errors"?}`` with ``errors`` mapping a field name
(or ``non_field_errors``) to a list of messages.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from pipeline_secrets.core.errors import Accepted, AppError, VaultUnavailableError
from pipeline_secrets.core.middleware import request_id
from pipeline_secrets.core.problems import PROBLEM_CONTENT_TYPE, problem_body

logger = logging.getLogger(__name__)


def problem(status_code: int, detail: str, *, title: str | None = None, **extra: Any) -> Response:
    body = problem_body(status_code, detail, title=title, **extra)
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def _flatten(detail: Any) -> dict[str, list[str]]:
    """DRF/Django error structures as ``{field: [message, ...]}``."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub_key, messages in _flatten(value).items():
                    out[f"{key}.{sub_key}"] = messages
            elif isinstance(value, list | tuple):
                out[str(key)] = [str(v) for v in value]
            else:
                out[str(key)] = [str(value)]
        return out
    if isinstance(detail, list | tuple):
        return {"non_field_errors": [str(v) for v in detail]}
    return {"non_field_errors": [str(detail)]}


def _validation_problem(errors: dict[str, list[str]]) -> Response:
    first_field, messages = next(iter(errors.items()))
    where = "" if first_field == "non_field_errors" else f"{first_field}: "
    return problem(status.HTTP_400_BAD_REQUEST, f"{where}{messages[0]}", errors=errors)


# The database restarting or failing over: the request may be retried, as with Vault.
DATABASE_RETRY_AFTER = 5


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error as a problem document carrying the request's id (``requestId``, also in
    the ``X-Request-ID`` header), so a caller can quote it."""
    if isinstance(exc, Accepted):
        return Response(exc.body, status=exc.status)
    answer = _problem_for(exc, context)
    request = context.get("request")
    if answer is not None and isinstance(answer.data, dict) and request is not None:
        answer.data.setdefault("requestId", request_id(request))
    return answer


def _internal_error(exc: Exception, context: dict[str, Any]) -> Response:
    """An unexpected error: its type, the request id and the frames are logged (the formatter
    withholds every exception message); the answer is a problem document naming the request
    id."""
    request = context.get("request")
    rid = request_id(request) if request is not None else "-"
    logger.error(
        "unhandled API error %s request=%s",
        f"{type(exc).__module__}.{type(exc).__qualname__}",
        rid,
        exc_info=exc,
    )
    return problem(
        status.HTTP_500_INTERNAL_SERVER_ERROR,
        f"An internal error occurred; it has been logged as request {rid}.",
        title="Internal error",
        requestId=rid,
    )


def _problem_for(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, OperationalError | InterfaceError):
        # Logged without its message (the formatter withholds it), as any unexpected error.
        logger.warning("database unavailable: %s", type(exc).__qualname__)
        answer = problem(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "The database is unavailable; retry shortly.",
            title="Service unavailable",
        )
        answer["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return answer
    if isinstance(exc, AppError):
        answer = problem(exc.status, exc.detail, title=exc.title)
        if isinstance(exc, VaultUnavailableError):
            answer["Retry-After"] = str(exc.retry_after)
        return answer
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            errors = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
        else:
            errors = {"non_field_errors": [str(m) for m in exc.messages]}
        return _validation_problem(errors)
    if isinstance(exc, exceptions.ValidationError):
        return _validation_problem(_flatten(exc.detail))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return _internal_error(exc, context)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    result = problem(response.status_code, detail)
    for header, value in response.items():
        if header.lower() in {"www-authenticate", "allow", "retry-after"}:
            result[header] = value
    return result
