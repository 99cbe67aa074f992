"""The original product's OpenAPI document, and a check of our answers against it.

The document (``reference/pipeline-openapi.yaml`` under ORIGINAL_REFERENCE_DIR, see
``tests.original_reference``; tests reading it carry ``original_reference("openapi")``) is
OpenAPI 3.0 with at least one duplicated mapping key; it is loaded keeping the last value,
as the original's own tooling did, and its schemas are turned into JSON Schema
(``nullable``). Every object schema is closed (``tests.schema_check.closed``): a member the
original does not name is a divergence unless the module under test lists it as deliberate.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass
from typing import Any

import jsonschema
import yaml

from tests import original_reference
from tests.schema_check import closed, template_of, template_patterns

ORIGINAL = original_reference.path("openapi")
METHODS = ("get", "put", "post", "delete", "patch", "head")


class _LastKeyWins(yaml.SafeLoader):
    """A YAML loader that keeps the last value of a duplicated mapping key."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        return {
            self.construct_object(key, deep=deep): self.construct_object(value, deep=deep)
            for key, value in node.value
        }


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects as JSON Schema; response codes as strings."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {str(key): _json_schema(value) for key, value in node.items()}
    if result.pop("nullable", False) and "type" in result:
        result["type"] = [result["type"], "null"]
    return result


@functools.cache
def original() -> dict[str, Any]:
    with ORIGINAL.open(encoding="utf-8") as stream:
        document: dict[str, Any] = _json_schema(yaml.load(stream, Loader=_LastKeyWins))
    return document


@functools.cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    return template_patterns(original()["paths"])


def operation_ids() -> dict[tuple[str, str], str]:
    """Every operation of the original: (path template, method) -> operationId."""
    return {
        (template, method): item[method].get("operationId", f"{method} {template}")
        for template, item in original()["paths"].items()
        for method in METHODS
        if method in item
    }


def shape(template: str) -> str:
    """A path template without its parameter names, to compare two documents' paths."""
    return re.sub(r"\{[^}]+\}", "{}", template)


# --------------------------------------------------------------------------- differences


@dataclass(frozen=True)
class ExtraMembers:
    """Members we add to an object of the original's ``schema`` (a component name, with
    ``.member`` and ``[]`` steps into its properties and items); in the answers of
    ``operation`` only, if given."""

    schema: str
    members: tuple[str, ...]
    reason: str
    operation: str | None = None


@dataclass(frozen=True)
class OtherType:
    """A member of the original's ``schema`` that we answer with another JSON type."""

    schema: str
    member: str
    type: str
    reason: str


@dataclass(frozen=True)
class OtherStatus:
    """A success status other than the original's for one operation."""

    operation: str
    original: str
    ours: str
    reason: str


@dataclass(frozen=True)
class BodyAdded:
    """A body (a JSON object) where the original answers this status without one."""

    operation: str
    status: str
    reason: str


@dataclass(frozen=True)
class Refused:
    """An operation the original allows with an API token that we refuse with ``status``."""

    operation: str
    status: int
    reason: str


Difference = ExtraMembers | OtherType | OtherStatus | BodyAdded | Refused


def _locate(components: dict[str, Any], location: str) -> dict[str, Any]:
    name, *steps = re.findall(r"[^.\[\]]+|\[\]", location)
    node: dict[str, Any] = components["schemas"][name]
    for step in steps:
        node = node["items"] if step == "[]" else node["properties"][step]
    return node


def _with_differences(differences: list[Difference], operation: str) -> dict[str, Any]:
    components = copy.deepcopy(original()["components"])
    for difference in differences:
        if isinstance(difference, ExtraMembers) and difference.operation in (None, operation):
            properties = _locate(components, difference.schema)["properties"]
            for member in difference.members:
                assert member not in properties, f"{difference.schema}.{member} is not extra"
                properties[member] = {}
        elif isinstance(difference, OtherType):
            member = _locate(components, difference.schema)["properties"][difference.member]
            member["type"] = difference.type
    components_closed: dict[str, Any] = closed(components)
    return components_closed


# --------------------------------------------------------------------------- the check


class OriginalDocument:
    """Checks answers against the original document with ``differences`` applied, and
    records which operations were checked with which statuses."""

    def __init__(self, differences: list[Difference]) -> None:
        self.differences = differences
        self.checked: set[tuple[str, str]] = set()

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        template = template_of(path.split("?")[0], _patterns())
        assert template is not None, f"{path} is not a path of the original document"
        item = original()["paths"][template]
        assert method in item, f"{method.upper()} {template} is not in the original document"
        op: dict[str, Any] = item[method]
        return op.get("operationId", f"{method} {template}"), op

    def _response_spec(self, operation_id: str, op: dict[str, Any], status: str) -> Any:
        responses = op["responses"]
        for difference in self.differences:
            if (
                isinstance(difference, OtherStatus)
                and difference.operation == operation_id
                and difference.ours == status
            ):
                status = difference.original
        if status in responses:
            spec = responses[status]
        else:
            # ``default`` documents the errors; a success must be one the original names.
            assert int(status) >= 400 and "default" in responses, (
                f"{operation_id} answered {status}; the original documents "
                f"{', '.join(sorted(responses))}"
            )
            spec = responses["default"]
        if "$ref" in spec:
            spec = original()["components"]["responses"][spec["$ref"].rsplit("/", 1)[1]]
        return spec

    def check(self, response: Any, method: str, path: str) -> None:
        operation_id, op = self.operation(method, path)
        status = str(response.status_code)
        self.checked.add((operation_id, status))
        content = self._response_spec(operation_id, op, status).get("content")
        added = any(
            isinstance(d, BodyAdded) and d.operation == operation_id and d.status == status
            for d in self.differences
        )
        if not content:
            if added:
                assert isinstance(json.loads(response.content), dict), response.content
            else:
                assert not response.content, f"{operation_id} {status}: the original has no body"
            return
        media = response["Content-Type"].split(";")[0].strip()
        assert media in content, f"{operation_id} {status}: {media} (original: {list(content)})"
        components = _with_differences(self.differences, operation_id)
        schema = {**closed(content[media]["schema"]), "components": components}
        validator = jsonschema.Draft202012Validator(
            schema, format_checker=jsonschema.FormatChecker()
        )
        body = json.loads(response.content)
        if response.status_code >= 400:
            # Optional in the schema, but the original always sent them and clients read them.
            assert body.get("code") == response.status_code, body
            assert isinstance(body.get("message"), str) and body["message"], body
            assert isinstance(body.get("error"), str) and body["error"], body
        problems = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        assert not problems, f"{method.upper()} {path} {status} does not fit the original:\n" + (
            "\n".join(
                f"  at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}"
                for e in problems[:10]
            )
        )
