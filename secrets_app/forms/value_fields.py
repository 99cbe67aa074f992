"""The value inputs of a secret form, built from the type's fields, and the key/value rows of
a schemaless (generic) secret; service errors on ``values.<field>`` land on them."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from pipeline_secrets.core.forms import ServiceErrorsForm
from secrets_app.forms.inputs import INPUT_ATTRS, SecretTextarea, bad_key
from secrets_app.types import Field
from secrets_app.types.base import KEY_RE

# Descriptions that announce a multi-line value (PEM blocks, kubeconfigs).
MULTILINE_HINT = re.compile(r"\b(pem|certificate|private key|kubeconfig)\b", re.IGNORECASE)
PAIR_KEY_RE = re.compile(r"^pair_key_(\d{1,3})$")
NEW_PAIRS = 3
FOLD_AT = 3
MAX_PAIRS = 200


def is_multiline(field: Field) -> bool:
    return not field.safe_to_display and bool(MULTILINE_HINT.search(field.description))


class ValueField(forms.CharField):
    """One value of a secret; carries the type's flags for the template. A ``shown`` field
    (no secret, or revealed on the edit form) renders its value; the others never do."""

    def __init__(
        self, spec: Field, *, shown: bool = False, multiline: bool = False, **kwargs: Any
    ) -> None:
        self.spec = spec
        self.shown = shown
        self.multiline = multiline or is_multiline(spec)
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)
        kwargs.setdefault("label", spec.name)
        kwargs.setdefault("help_text", spec.page_help)
        super().__init__(widget=self._widget(spec), **kwargs)

    def _widget(self, spec: Field) -> forms.Widget:
        attrs: dict[str, Any] = dict(INPUT_ATTRS)
        if spec.choices:
            return forms.Select(choices=choice_list(spec))
        if self.multiline:
            area = forms.Textarea if self.shown else SecretTextarea
            return area(attrs={**attrs, "rows": 4, "class": "mono"})
        if spec.safe_to_display:
            return forms.TextInput(attrs=attrs)
        if self.shown:
            return forms.TextInput(attrs={**attrs, "class": "mono"})
        return forms.PasswordInput(attrs={**attrs, "class": "mono"}, render_value=False)


def choice_list(spec: Field, current: str = "") -> list[tuple[str, str]]:
    """The registry's choices for a field, with "the default" first and a stored value that
    is not among them kept."""
    found = [("", "Default"), *((c, c) for c in spec.choices)]
    if current and current not in spec.choices:
        found.append((current, current))
    return found


def pair_indices(data: Any) -> list[int]:
    """Indices of the key/value rows present in submitted data, or the blank rows to show."""
    if data is None:
        return list(range(NEW_PAIRS))
    found = {int(m.group(1)) for key in data if (m := PAIR_KEY_RE.fullmatch(key))}
    return sorted(found)[:MAX_PAIRS]


class ServiceErrorsMixin(ServiceErrorsForm):
    """Also maps ``values.<field>`` keys onto value inputs and key/value rows."""

    def field_for(self, key: str) -> str | None:
        found = super().field_for(key)
        if found is not None:
            return found
        name = key.removeprefix("values.")
        if f"v_{name}" in self.fields:
            return f"v_{name}"
        for index in pair_indices(self.data):
            if self.data.get(f"pair_key_{index}", "").strip() == name:
                return f"pair_value_{index}"
        return None

    def value_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("v_")]

    def optional_generated(self) -> list[forms.BoundField]:
        """Optional values the type generates, when there are enough (certificates and keys)
        that the form shows them folded away."""
        found = [
            bound
            for bound in self.value_fields()
            if isinstance(bound.field, ValueField)
            and bound.field.spec.generatable
            and not bound.field.spec.client_required
        ]
        return found if len(found) >= FOLD_AT else []

    def primary_value_fields(self) -> list[forms.BoundField]:
        folded = {bound.name for bound in self.optional_generated()}
        return [bound for bound in self.value_fields() if bound.name not in folded]

    def unfold(self) -> bool:
        """Open the folded values when the user typed into one or one has an error."""
        return any(b.errors or (self.is_bound and b.data) for b in self.optional_generated())

    def pair_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        numbers: list[int] = getattr(self, "pair_numbers", [])
        return [(self[f"pair_key_{i}"], self[f"pair_value_{i}"]) for i in numbers]

    def next_pair(self) -> int:
        numbers: list[int] = getattr(self, "pair_numbers", [])
        return max(numbers) + 1 if numbers else 0

    def add_pairs(self, numbers: list[int]) -> None:
        self.pair_numbers = numbers
        for i in numbers:
            self.fields[f"pair_key_{i}"] = forms.CharField(
                required=False,
                label=f"Key {i + 1}",
                max_length=253,
                widget=forms.TextInput(attrs={**INPUT_ATTRS, "class": "mono"}),
            )
            self.fields[f"pair_value_{i}"] = forms.CharField(
                required=False,
                label=f"Value {i + 1}",
                strip=False,
                widget=SecretTextarea(attrs={**INPUT_ATTRS, "rows": 1, "class": "mono"}),
            )
        self.describe_fields()

    def pairs(self) -> dict[str, str]:
        """The key/value rows with a key; a value without a key is an error."""
        result: dict[str, str] = {}
        for i in getattr(self, "pair_numbers", []):
            key = self.cleaned_data.get(f"pair_key_{i}", "").strip()
            value = self.cleaned_data.get(f"pair_value_{i}", "")
            if not key and value:
                self.add_error(f"pair_key_{i}", "Give this value a key.")
            elif key and not KEY_RE.fullmatch(key):
                self.add_error(f"pair_key_{i}", bad_key(key))
            elif key in result:
                self.add_error(f"pair_key_{i}", f"The key {key!r} is given twice.")
            elif key:
                result[key] = value
        return result
