"""What a Kubernetes call that failed becomes: a ``KubeError`` carrying the HTTP status and
the Kubernetes reason word, never a message of the client or of the server, and never
chained; and the timing of every call for the metrics."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

from pipeline_secrets.core import metrics, outbound


class KubeError(Exception):
    """A Kubernetes call failed. ``status`` is the HTTP status, 0 when unreachable."""

    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason

    @property
    def unreachable(self) -> bool:
        return self.status == 0


class KubeRefusedError(KubeError):
    """The kubeconfig, or the address of its server, is refused: nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=400, reason="BadRequest")


def reason_of(status: int, body: Any) -> str:
    """The Kubernetes reason word of an error answer (such as Forbidden), never its message."""
    try:
        document = json.loads(body or "")
    except (ValueError, TypeError):
        document = None
    reason = document.get("reason") if isinstance(document, dict) else None
    if isinstance(reason, str) and REASON.fullmatch(reason):
        return reason
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# A Kubernetes StatusReason: one CamelCase word. Anything else from the server is not shown.
REASON = re.compile(r"[A-Z][A-Za-z]{0,63}")


def kube_error(action: str, exc: BaseException) -> KubeError:
    """A KubeError for what the client raised: the status and reason, never a message that
    could carry what was sent or what the server answered."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError, MaxRetryError

    if isinstance(exc, outbound.RefusedPeerError):
        return KubeRefusedError(
            f"{action}: the server is in a network this server does not connect to "
            "(OUTBOUND_DENY_NETWORKS)."
        )
    if isinstance(exc, ApiException) and exc.status:
        reason = reason_of(exc.status, exc.body)
        return KubeError(
            f"{action}: the cluster answered {exc.status} {reason}.",
            status=exc.status,
            reason=reason,
        )
    if isinstance(exc, ApiException):  # status 0: TLS failure or a request never sent
        return KubeError(f"{action}: the cluster is unreachable (TLS or connection error).")
    if isinstance(exc, MaxRetryError) and exc.reason is not None:
        if isinstance(exc.reason, outbound.RefusedPeerError):
            return kube_error(action, exc.reason)
        kind = type(exc.reason).__name__
        return KubeError(f"{action}: the cluster is unreachable ({kind}).")
    if isinstance(exc, HTTPError | OSError):
        return KubeError(f"{action}: the cluster is unreachable ({type(exc).__name__}).")
    return KubeError(
        f"{action}: the request failed ({type(exc).__name__}).", status=502, reason="BadGateway"
    )


@contextmanager
def calling(operation: str, action: str) -> Iterator[None]:
    """Time one call as ``operation`` (a fixed word for the metrics) and turn what the client
    raises into a KubeError about ``action`` (the sentence callers see)."""
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    except KubeError:
        raise
    except Exception as exc:
        # ``from None``: the client's exception (whose text may hold a header that was
        # sent, or the server's answer) is neither shown nor chained into tracebacks.
        raise kube_error(action, exc) from None
    finally:
        metrics.observe_kube_call(operation, outcome, time.perf_counter() - started)
