"""The client's one way in: the server's API over HTTP, with a bearer token."""

from __future__ import annotations

import hashlib
from typing import Any

import requests

from pipeline_secrets_cli.errors import UNAVAILABLE, CliError, exit_code_for, problem_line

TIMEOUT = 30


def secret_id(name: str) -> str:
    """A secret's id: the hex SHA-256 of its name."""
    return hashlib.sha256(name.encode()).hexdigest()


class Api:
    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"
        self.session.headers["User-Agent"] = "pipeline-secrets-cli"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def raw(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(
                method, f"{self.url}/api/v1/{path}", timeout=TIMEOUT, **kwargs
            )
        except requests.RequestException as exc:
            raise CliError(
                f"cannot reach {self.url} ({type(exc).__name__}); check --url and retry",
                UNAVAILABLE,
            ) from None

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.raw(method, path, **kwargs)
        if response.status_code >= 400:
            raise CliError(
                problem_line(response.status_code, _body(response)),
                exit_code_for(response.status_code),
            )
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params=params)


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
