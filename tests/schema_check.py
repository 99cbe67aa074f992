"""Checks API responses against the OpenAPI document the product serves.

``CheckedAPIClient`` (the API client of the test suite) checks every answer under
``/api/v1/``: its status must be one the operation documents and its body must fit the
documented schema, with no member the schema does not name. The document is fetched once
per session and each schema is compiled once per (path, method, status).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import jsonschema
from django.test import Client
from rest_framework.test import APIClient

API_PREFIX = "/api/v1/"
# Served under the prefix but not operations of the API: the document and its viewer.
NOT_OPERATIONS = ("/api/v1/openapi.json", "/api/v1/docs")
CHECKED_METHODS = frozenset({"get", "post", "put", "patch", "delete"})
# Every (path, method, status) checked in this session.
CHECKED: set[tuple[str, str, str]] = set()


@functools.cache
def served_document() -> dict[str, Any]:
    """The OpenAPI document the product serves."""
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200, response.status_code
    document: dict[str, Any] = response.json()
    return document


def closed(schema: Any) -> Any:
    """``schema`` with every object closed: a key the document does not name is a mismatch.
    (Also used for the original product's document, tests/test_original_openapi.py.)"""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: closed(value) for key, value in schema.items()}
    if "properties" in result and "additionalProperties" not in result:
        result["additionalProperties"] = False
    return result


@functools.cache
def _components() -> dict[str, Any]:
    components: dict[str, Any] = closed(served_document()["components"])
    return components


def template_patterns(paths: Any) -> tuple[tuple[re.Pattern[str], str], ...]:
    """A pattern matching the concrete paths of each path template in ``paths``."""
    compiled = []
    for template in paths:
        # A tag may contain "/": a trailing {tag} matches the rest of the path.
        pattern = re.sub(r"\{tag\}$", "(?:.+)", template)
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", pattern)
        compiled.append((re.compile(f"^{pattern}$"), template))
    return tuple(compiled)


@functools.cache
def _templates() -> tuple[tuple[re.Pattern[str], str], ...]:
    return template_patterns(served_document()["paths"])


def template_of(path: str, patterns: tuple[tuple[re.Pattern[str], str], ...]) -> str | None:
    """The template of ``patterns`` that ``path`` is an instance of, if any."""
    for pattern, template in patterns:
        if pattern.match(path):
            return template
    return None


def _template_of(path: str) -> str | None:
    return template_of(path, _templates())


def _compiled(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    schema = {**closed(schema), "components": _components()}
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@functools.cache
def _problem_validator() -> jsonschema.Draft202012Validator:
    """The problem document's schema."""
    return _compiled(served_document()["components"]["schemas"]["Problem"])


@functools.cache
def _validator(template: str, method: str, status: str) -> jsonschema.Draft202012Validator | None:
    """The compiled schema of an answer's body; None when the answer has no body."""
    document = served_document()
    responses = document["paths"][template][method]["responses"]
    content = responses[status].get("content")
    if not content:
        return None
    media = next(iter(content.values()))
    return _compiled(media["schema"])


def assert_conforms(response: Any, method: str, path: str) -> None:
    """The response's status is documented for the operation and its body fits the schema.

    A path or method the document does not have must be answered 404 or 405, with a problem
    document.
    """
    method = method.lower()
    path = path.split("?")[0]
    status = str(response.status_code)
    template = _template_of(path)
    item = served_document()["paths"].get(template) if template else None
    if template is None or item is None or method not in item:
        assert status in {"404", "405"}, (
            f"{method.upper()} {path} is not in the OpenAPI document but answered {status}"
        )
        _assert_fits(_problem_validator(), response, method, path, status)
        return
    documented = item[method]["responses"]
    assert status in documented, (
        f"{method.upper()} {path} answered undocumented {status} "
        f"(documented: {', '.join(sorted(documented))}): {response.content[:300]!r}"
    )
    CHECKED.add((template, method, status))
    validator = _validator(template, method, status)
    if validator is None:
        assert not response.content, f"{method.upper()} {path} {status} should have no body"
        return
    _assert_fits(validator, response, method, path, status)


def _assert_fits(
    validator: jsonschema.Draft202012Validator, response: Any, method: str, path: str, status: str
) -> None:
    assert response.content, f"{method.upper()} {path} {status} has no body"
    kind = response.get("Content-Type", "")
    assert re.match(r"application/(.+\+)?json", kind), f"{method.upper()} {path} {status}: {kind}"
    body = json.loads(response.content)
    problems = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if problems:
        details = "\n".join(
            f"  at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}"
            for e in problems[:10]
        )
        raise AssertionError(
            f"{method.upper()} {path} {status}: the body does not fit the OpenAPI document:\n"
            f"{details}"
        )


class CheckedAPIClient(APIClient):
    """An ``APIClient`` that checks every answer under /api/v1/ against the OpenAPI document
    (see ``assert_conforms``); a call whose answer does not fit fails the test."""

    def request(self, **kwargs: Any) -> Any:
        response = super().request(**kwargs)
        path = kwargs.get("PATH_INFO", "")
        method = str(kwargs.get("REQUEST_METHOD", "")).lower()
        if (
            path.startswith(API_PREFIX)
            and method in CHECKED_METHODS
            and not path.startswith(NOT_OPERATIONS)
        ):
            assert_conforms(response, method, path)
        return response
