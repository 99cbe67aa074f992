"""The key mapping of a one-secret install (the original product's ``spec``).

``spec`` maps each data key of the Kubernetes Secret to one item:

- ``{"source": FIELD}``: the value of one field of the stored secret;
- ``{"value": TEXT}``: the text itself;
- ``{"sourceMap": {DEST: FIELD, ...}}``: a JSON object of those fields under the key;
- ``{}``: a JSON object of every field (opaque fields left out).

As in the original, an empty string or map counts as absent (its client leaves empty members
out), so ``{"value": ""}`` is the empty item. Unlike the original, which silently skips a
field that is unknown or opaque, such a field is a ``ValidationError`` on ``spec.KEY``, and
an item giving more than one of ``source``, ``value`` and ``sourceMap`` is refused rather
than resolved by precedence.

What is kept with an installation (``stored``) is the mapping without its literal texts: a
literal may be a secret and values never reach the database. A re-sync keeps the literal
keys as they are in the cluster (``build(..., literals=...)``).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError

from secrets_app.types import SecretType
from secrets_app.types.base import KEY_RE

Spec = dict[str, dict[str, Any]]
KEY_HELP = "Keys may contain only letters, digits, '-', '_' and '.' (1-253)."
# How a literal item is kept with an installation: its text stays in the cluster only.
LITERAL = "literal"


def clean_spec(raw: Any) -> Spec | None:
    """The spec in its normal form (absent members dropped), None for "no mapping"; a
    ValidationError on ``spec`` or ``spec.KEY`` for a malformed one. Fields are checked
    against the secret later, by ``build``."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValidationError({"spec": "Must be an object of key: item."})
    if not raw:
        return None
    errors: dict[str, str] = {}
    spec: Spec = {}
    for key, item in raw.items():
        where = f"spec.{key}"
        if not isinstance(key, str) or not KEY_RE.fullmatch(key):
            errors[where] = KEY_HELP
            continue
        if not isinstance(item, dict):
            errors[where] = "Must be an object: {source}, {value}, {sourceMap} or {}."
            continue
        unknown = set(item) - {"source", "value", "sourceMap"}
        if unknown:
            errors[where] = f"Unknown members {', '.join(sorted(map(str, unknown)))}."
            continue
        given = {k: v for k, v in item.items() if v not in ("", None, {})}
        if len(given) > 1:
            errors[where] = "Give one of source, value or sourceMap."
            continue
        problem = _item_problem(given)
        if problem:
            errors[where] = problem
            continue
        spec[key] = given
    if errors:
        raise ValidationError(errors)
    return spec


def _item_problem(item: dict[str, Any]) -> str:
    if "source" in item and not isinstance(item["source"], str):
        return "source must be a field name."
    if "value" in item and not isinstance(item["value"], str):
        return "value must be a string."
    if "sourceMap" in item:
        source_map = item["sourceMap"]
        if not isinstance(source_map, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in source_map.items()
        ):
            return "sourceMap must map names to field names."
    return ""


def stored(spec: Spec | None) -> Spec | None:
    """What an installation keeps of ``spec``: literal texts replaced by a marker."""
    if spec is None:
        return None
    return {key: ({LITERAL: True} if "value" in item else dict(item)) for key, item in spec.items()}


def build(
    stype: SecretType,
    values: dict[str, str],
    spec: Spec | None,
    *,
    literals: dict[str, str] | None = None,
) -> dict[str, str]:
    """The data of the Kubernetes Secret. Without ``spec``: the type's own keys
    (``install_data``). A ValidationError on ``spec.KEY`` names a field the secret does not
    have or that is opaque. A kept mapping's literal keys (``stored``) take their text from
    ``literals`` (what the cluster holds); one missing there is an error on ``spec.KEY``."""
    if spec is None:
        return stype.install_data(values)
    opaque = {f.name for f in stype.fields if f.opaque}
    installable = {k: v for k, v in values.items() if k not in opaque}
    errors: dict[str, str] = {}
    data: dict[str, str] = {}

    def field(key: str, name: str) -> str | None:
        if name in opaque:
            errors[f"spec.{key}"] = f"Field {name} of type {stype.name} is not installable."
            return None
        if name not in values:
            known = ", ".join(sorted(installable)) or "none"
            errors[f"spec.{key}"] = f"The secret has no field {name}; its fields: {known}."
            return None
        return values[name]

    for key, item in spec.items():
        if "source" in item:
            found = field(key, item["source"])
            if found is not None:
                data[key] = found
        elif "value" in item:
            data[key] = item["value"]
        elif item.get(LITERAL):
            if literals is None or key not in literals:
                errors[f"spec.{key}"] = (
                    "The literal value is kept only in the cluster and is gone; install again."
                )
            else:
                data[key] = literals[key]
        else:
            source_map = item.get("sourceMap") or {name: name for name in installable}
            picked = {dest: field(key, name) for dest, name in source_map.items()}
            data[key] = json.dumps(picked, sort_keys=True)
    if errors:
        raise ValidationError(errors)
    return data
