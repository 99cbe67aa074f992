"""Log output that cannot carry a credential.

An exception's message may hold what a request sent or what a library read from a file (an
HTTP library quoting a header, a parser quoting its input). Tracebacks are therefore logged
as frames and exception types only: where it failed and what kind of failure, never the
message. Our own log calls name ids and paths, never values.
"""

from __future__ import annotations

import contextvars
import json
import logging
import traceback
from types import TracebackType

# The id of the request being served on this thread (set by RequestContextMiddleware), so
# every log line written while serving it names it.
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "current_request_id", default="-"
)

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def _chain(exc: BaseException) -> list[tuple[BaseException, str]]:
    """The exception and its causes, outermost last, as ``traceback`` prints them."""
    found: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, "cause"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, "context"
        else:
            current = None
    return list(reversed(found))


def exception_summary(exc: BaseException) -> str:
    """A traceback of ``exc`` (and its chain) without any exception message."""
    lines: list[str] = []
    for index, (item, link) in enumerate(_chain(exc)):
        if index:
            lines.append(
                "\nThe above exception was the direct cause of the following exception:\n\n"
                if link == "cause"
                else "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
        frames = traceback.extract_tb(item.__traceback__)
        if frames:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_list(frames))
        kind = type(item)
        lines.append(f"{kind.__module__}.{kind.__qualname__} (message withheld)\n")
    return "".join(lines).rstrip("\n")


class ScrubbedFormatter(logging.Formatter):
    """A formatter whose tracebacks hold frames and exception types, not messages."""

    def formatException(self, ei: ExcInfo | tuple[None, None, None]) -> str:
        exc = ei[1]
        return exception_summary(exc) if exc is not None else ""

    def format(self, record: logging.LogRecord) -> str:
        # django.request attaches the request: name it by its id, as the client saw it.
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "request_id", None) or current_request_id.get()
        # A handler elsewhere may have cached the full traceback on the record.
        record.exc_text = None
        text = super().format(record)
        record.exc_text = None
        return text


class JsonFormatter(ScrubbedFormatter):
    """One JSON object per line (``LOG_FORMAT=json``): time, level, logger, request id,
    message and, for errors, the scrubbed traceback."""

    def format(self, record: logging.LogRecord) -> str:
        request = getattr(record, "request", None)
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(request, "request_id", None) or current_request_id.get(),
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:
            entry["exception"] = exception_summary(record.exc_info[1])
        return json.dumps(entry, ensure_ascii=False)
