"""Checks an API response against the OpenAPI document the product serves."""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema
from rest_framework.test import APIClient


@functools.cache
def _document() -> dict[str, Any]:
    response = APIClient().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def _match_path(paths: dict[str, Any], path: str) -> dict[str, Any]:
    for template, item in paths.items():
        pattern = "^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$"
        if template.endswith("{tag}"):
            pattern = "^" + re.sub(r"\{[^}]+\}", r".+", template) + "$"
        if re.match(pattern, path):
            return item
    raise AssertionError(f"{path} is not in the OpenAPI document")


def assert_conforms(response: Any, method: str, path: str) -> None:
    """The response's status is documented for the operation and its body fits the schema."""
    document = _document()
    operation = _match_path(document["paths"], path.split("?")[0])[method.lower()]
    documented = operation["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method} {path} answered undocumented {status}"
    content = documented[status].get("content")
    if not content:
        assert not response.content, f"{method} {path} {status} should have no body"
        return
    media = next(iter(content.values()))
    schema = {**media["schema"], "components": document["components"]}
    jsonschema.validate(response.json(), schema, cls=jsonschema.Draft202012Validator)
