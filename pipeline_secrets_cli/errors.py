"""Stable exit codes, and the server's problem documents as one line."""

from __future__ import annotations

from typing import Any

import click

OK = 0
USAGE = 2
NOT_FOUND = 3
FORBIDDEN = 4
CONFLICT = 5
UNAVAILABLE = 6
FAILED = 1

STATUS_CODES = {400: USAGE, 401: FORBIDDEN, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT}
HINTS = {
    401: "sign in again with `pipeline-secrets login`, or check PIPELINE_SECRETS_TOKEN",
    403: "the token's organization or highest role does not allow this",
    409: "someone changed it meanwhile: read it again and retry",
}


class CliError(click.ClickException):
    """An error the client reports in one line and exits with ``code``."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


def exit_code_for(status: int) -> int:
    if status >= 500:
        return UNAVAILABLE
    return STATUS_CODES.get(status, FAILED)


def problem_line(status: int, body: Any) -> str:
    """``detail`` of the problem document (it names the field first), and what to do."""
    detail = ""
    if isinstance(body, dict):
        detail = str(body.get("detail") or body.get("title") or "")
        errors = body.get("errors")
        if not detail and isinstance(errors, dict) and errors:
            field, messages = next(iter(errors.items()))
            detail = f"{field}: {messages[0] if messages else ''}"
    detail = detail or f"the server answered {status}"
    hint = HINTS.get(status)
    if status >= 500:
        hint = "the server is unavailable; retry shortly"
    return f"{detail} ({hint})" if hint else detail
