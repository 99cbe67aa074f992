"""The agent's thin client for the server's agent routes (``/api/v1/agent/``): one
``requests`` session with the bearer token and the ``X-Agent-Version`` header.

Nothing here logs a body: render answers hold values. Errors name the route and the
status only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from pipeline_secrets_agent import __version__
from pipeline_secrets_agent.desired import Rendered, rendered

# (connect, read) seconds beside a long-poll's own wait.
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 120.0


class ServerError(Exception):
    """The server could not be reached or answered with an error: retry later."""


class Unauthorized(ServerError):
    """401: the agent token was revoked or rotated. Retrying does not help."""


@dataclass
class Changes:
    """A ``changes`` answer: the cursor to continue from and the events (payloads + id)."""

    cursor: int
    reset: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)


class Server(Protocol):
    """What the agent asks of the server (ServerClient; tests may pass their own)."""

    def changes(self, after: int | None, wait: int) -> Changes: ...

    def render(
        self,
        *,
        installations: list[int] | str,
        syncs: list[dict[str, Any]],
        all_syncs: bool = False,
        page: tuple[int, int] | None = None,
    ) -> Rendered: ...

    def report(
        self,
        *,
        installations: list[dict[str, Any]] | None = None,
        syncs: list[dict[str, Any]] | None = None,
        drift: list[dict[str, Any]] | None = None,
    ) -> None: ...


class ServerClient:
    """The server at ``base_url`` (``https://host``), called with ``token``."""

    def __init__(self, base_url: str, token: str, *, verify: bool | str = True) -> None:
        self.base = base_url.rstrip("/") + "/api/v1/agent/"
        self.session = requests.Session()
        self.session.verify = verify
        self.session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "X-Agent-Version": __version__,
                "User-Agent": f"pipeline-secrets-agent/{__version__}",
            }
        )

    def _call(self, method: str, route: str, read_timeout: float, **kwargs: Any) -> Any:
        try:
            response = self.session.request(
                method, self.base + route, timeout=(CONNECT_TIMEOUT, read_timeout), **kwargs
            )
        except requests.RequestException as exc:
            raise ServerError(f"{route}: {type(exc).__name__}") from None
        if response.status_code == 401:
            raise Unauthorized(
                "The server refused the agent token (401): it was revoked or rotated."
            )
        if response.status_code >= 400:
            raise ServerError(f"{route}: HTTP {response.status_code}")
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ServerError(f"{route}: the answer is not JSON") from None

    def changes(self, after: int | None, wait: int) -> Changes:
        params: dict[str, int] = {"wait": wait}
        if after is not None:
            params["after"] = after
        answer = self._call("GET", "changes", wait + READ_TIMEOUT / 4, params=params) or {}
        return Changes(
            cursor=int(answer.get("cursor") or 0),
            reset=bool(answer.get("reset")),
            events=list(answer.get("events") or ()),
        )

    def render(
        self,
        *,
        installations: list[int] | str,
        syncs: list[dict[str, Any]],
        all_syncs: bool = False,
        page: tuple[int, int] | None = None,
    ) -> Rendered:
        """``page``: (after, limit), one page of ``installations="all"``."""
        body: dict[str, Any] = {
            "installations": installations,
            "syncs": syncs,
            "allSyncs": all_syncs,
        }
        if page is not None:
            body["after"], body["limit"] = page
        return rendered(self._call("POST", "render", READ_TIMEOUT, json=body) or {})

    def report(
        self,
        *,
        installations: list[dict[str, Any]] | None = None,
        syncs: list[dict[str, Any]] | None = None,
        drift: list[dict[str, Any]] | None = None,
    ) -> None:
        body = {
            "agentVersion": __version__,
            "installations": installations or [],
            "syncs": syncs or [],
            "drift": drift or [],
        }
        self._call("POST", "report", READ_TIMEOUT, json=body)
