"""Shared checks used by every endpoint test."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

PERSONAS = ("admin", "member", "viewer", "outsider", "anonymous")


def call(client: APIClient, method: str, url: str, body: Any = None) -> Any:
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body, format="json")


def assert_problem(response: Any, status: int, *, field: str | None = None) -> dict[str, Any]:
    """The response is a problem document with ``status``, naming ``field`` if given (or an
    item of it, such as ``tags.0``)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    # The original product's members, which its clients read.
    assert (body["code"], body["message"], body["error"]) == (status, body["detail"], body["title"])
    if field is not None:
        keys = body.get("errors", {})
        assert any(k == field or k.startswith(f"{field}.") for k in keys), body
    return body


def expected_status(persona: str, *, allowed: tuple[str, ...], ok: int) -> int:
    """What a persona should get: ``ok`` if allowed, else 401/404/403 as the rules say."""
    if persona in allowed:
        return ok
    if persona == "anonymous":
        return 401
    if persona == "outsider":
        return 404
    return 403


def check_access(
    clients: dict[str, APIClient],
    method: str,
    url: str,
    *,
    allowed: tuple[str, ...],
    ok: int,
    body: Any = None,
    make_body: Any = None,
) -> dict[str, Any]:
    """Call the endpoint as every persona; each gets what the role rules say it should.

    ``make_body(persona)`` builds a fresh body per persona when one body cannot be reused
    (for example a create with a unique name). Returns the responses by persona.
    """
    responses = {}
    for persona in PERSONAS:
        payload = make_body(persona) if make_body else body
        response = call(clients[persona], method, url, payload)
        want = expected_status(persona, allowed=allowed, ok=ok)
        if want == ok:
            assert response.status_code == ok, (persona, response.status_code, response.content)
        else:
            assert_problem(response, want)
        responses[persona] = response
    return responses


def secret_values(*, row: Any) -> dict[str, Any]:
    """A secret's stored values, read by the test as the product itself (no audit row)."""
    from orgs import policy
    from secrets_app import values

    return values.read_values(standing=policy.System("test"), row=row, purpose="test")
