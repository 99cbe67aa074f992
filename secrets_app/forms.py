"""Dashboard forms for secrets, built from the type registry: a new type needs no form code.

The forms only collect and shape input; the services validate it. Errors raised by the
services (keys ``name``, ``type``, ``tags``, ``values.<field>``) are put back on the form
field they name with ``add_service_errors``. Secret inputs never render a value back: a
value reaches a page only when a member reveals it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.http import urlencode

from orgs.models import Organization
from pipeline_secrets.core.forms import ServiceErrorsForm
from secrets_app.types import REGISTRY, Field, SecretType

# Descriptions that announce a multi-line value (PEM blocks, kubeconfigs).
MULTILINE_HINT = re.compile(r"\b(pem|certificate|private key|kubeconfig)\b", re.IGNORECASE)
PAIR_KEY_RE = re.compile(r"^pair_key_(\d{1,3})$")
NEW_PAIRS = 3
FOLD_AT = 3
VERIFY_LABEL = "Check the credentials with their provider before saving, where the type can"
MAX_PAIRS = 200
TAG_SPLIT = re.compile(r"[\s,]+")
INPUT_ATTRS = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}


def split_tags(text: str) -> list[str]:
    return [t for t in TAG_SPLIT.split(text.strip()) if t]


def is_multiline(field: Field) -> bool:
    return not field.safe_to_display and bool(MULTILINE_HINT.search(field.description))


class SecretTextarea(forms.Textarea):
    """A textarea that never echoes a submitted value back into the page."""

    def format_value(self, value: Any) -> str | None:
        return None


class ValueField(forms.CharField):
    """One value of a secret; carries the type's flags for the template."""

    def __init__(self, spec: Field, **kwargs: Any) -> None:
        self.spec = spec
        self.multiline = is_multiline(spec)
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)
        kwargs.setdefault("label", spec.name)
        kwargs.setdefault("help_text", spec.description)
        super().__init__(widget=self._widget(spec), **kwargs)

    def _widget(self, spec: Field) -> forms.Widget:
        attrs: dict[str, Any] = dict(INPUT_ATTRS)
        if self.multiline:
            return SecretTextarea(attrs={**attrs, "rows": 4, "class": "mono"})
        if spec.safe_to_display:
            return forms.TextInput(attrs=attrs)
        return forms.PasswordInput(attrs={**attrs, "class": "mono"}, render_value=False)


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
            elif key in result:
                self.add_error(f"pair_key_{i}", f"The key {key!r} is given twice.")
            elif key:
                result[key] = value
        return result


def type_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in REGISTRY]


class SecretCreateForm(ServiceErrorsMixin):
    name = forms.CharField(
        max_length=253,
        help_text="Lowercase letters, digits, '-' and '.'; it becomes the Kubernetes Secret's "
        "name when installed.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    type = forms.ChoiceField(choices=type_choices)
    tags = forms.CharField(
        required=False,
        help_text="Separated by spaces or commas, such as env:prod repo:payments.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    verify = forms.BooleanField(
        required=False,
        initial=True,
        label=VERIFY_LABEL,
    )
    field_aliases = {"tag": "tags"}

    def __init__(
        self, *args: Any, organization: Organization, secret_type: SecretType, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.secret_type = secret_type
        self.fields["type"].initial = secret_type.name
        for spec in secret_type.fields:
            field = self.fields[f"v_{spec.name}"] = ValueField(spec)
            if spec.client_required:
                field.widget.attrs["required"] = True
        if not secret_type.strict:
            self.add_pairs(pair_indices(self.data if self.is_bound else None))
        self.describe_fields()

    def values(self) -> dict[str, str]:
        if not self.secret_type.strict:
            return self.pairs()
        return {
            spec.name: self.cleaned_data[f"v_{spec.name}"]
            for spec in self.secret_type.fields
            if self.cleaned_data.get(f"v_{spec.name}")
        }

    def tag_list(self) -> list[str]:
        return split_tags(self.cleaned_data.get("tags", ""))


class SecretEditForm(ServiceErrorsMixin):
    """New values for a secret: an empty secret field keeps its current value.

    Fields that are safe to display start with their current value; "regenerate" drops
    every generatable value so the type makes new ones.
    """

    version = forms.IntegerField(widget=forms.HiddenInput)
    verify = forms.BooleanField(
        required=False,
        initial=True,
        label=VERIFY_LABEL,
    )

    def __init__(
        self,
        *args: Any,
        organization: Organization,
        secret_type: SecretType,
        current: dict[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.secret_type = secret_type
        self.current = current
        if secret_type.strict:
            self._add_typed_fields()
        else:
            self._add_generic_fields()
        self.describe_fields()

    def _add_typed_fields(self) -> None:
        for spec in self.secret_type.fields:
            field = ValueField(spec)
            if spec.safe_to_display:
                field.initial = self.current.get(spec.name, "")
            else:
                field.widget.attrs["placeholder"] = "unchanged"
            self.fields[f"v_{spec.name}"] = field
        if any(spec.generatable for spec in self.secret_type.fields):
            names = ", ".join(s.name for s in self.secret_type.fields if s.generatable)
            self.fields["regenerate"] = forms.BooleanField(
                required=False,
                label="Generate new values",
                help_text=f"Replaces {names}; the new values are shown once.",
            )

    def _add_generic_fields(self) -> None:
        for key in sorted(self.current):
            spec = Field(key, description="Leave empty to keep the current value.")
            field = ValueField(spec)
            field.widget.attrs["placeholder"] = "unchanged"
            self.fields[f"v_{key}"] = field
            self.fields[f"rm_{key}"] = forms.BooleanField(required=False, label=f"Remove {key}")
        self.add_pairs(pair_indices(self.data if self.is_bound else None)[:MAX_PAIRS] or [0])

    def edit_rows(self) -> list[tuple[forms.BoundField, forms.BoundField | None]]:
        """Each value input with its "remove" box (keys of a schemaless type have one)."""
        rows = []
        for bound in self.value_fields():
            removal = f"rm_{bound.name.removeprefix('v_')}"
            rows.append((bound, self[removal] if removal in self.fields else None))
        return rows

    def values(self) -> dict[str, str]:
        """The current values with this form's changes applied."""
        if not self.secret_type.strict:
            return self._generic_values()
        merged = dict(self.current)
        for spec in self.secret_type.fields:
            new = self.cleaned_data.get(f"v_{spec.name}", "")
            if new:
                merged[spec.name] = new
            elif spec.safe_to_display:
                merged.pop(spec.name, None)
        if self.cleaned_data.get("regenerate"):
            for spec in self.secret_type.fields:
                if spec.generatable:
                    merged.pop(spec.name, None)
        return merged

    def _generic_values(self) -> dict[str, str]:
        merged = dict(self.current)
        for key in self.current:
            if self.cleaned_data.get(f"rm_{key}"):
                merged.pop(key)
            elif self.cleaned_data.get(f"v_{key}"):
                merged[key] = self.cleaned_data[f"v_{key}"]
        for key, value in self.pairs().items():
            if key in self.current:
                self.add_error(None, f"The key {key!r} exists already; change it above.")
            merged[key] = value
        return merged


class TagForm(ServiceErrorsForm):
    tag = forms.CharField(
        max_length=128,
        label="Add a tag",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization


@dataclass(frozen=True)
class SecretFilters:
    """The list's filters as read from (and written back to) the query string."""

    q: str = ""
    type: str = ""
    tags: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, query: QueryDict) -> SecretFilters:
        kind = query.get("type", "")
        # No stored text holds a NUL, and PostgreSQL refuses one in a query: drop them.
        raw_tags = (t.replace("\x00", "").strip()[:128] for t in query.getlist("tag"))
        tags = dict.fromkeys(t for t in raw_tags if t)
        return cls(
            q=query.get("q", "").replace("\x00", "").strip()[:253],
            type=kind if kind in REGISTRY else "",
            tags=tuple(tags)[:20],
        )

    def pairs(
        self, *, type: str | None = None, tags: tuple[str, ...] | None = None
    ) -> list[tuple[str, str]]:
        result = [("q", self.q)] if self.q else []
        kind = self.type if type is None else type
        if kind:
            result.append(("type", kind))
        result.extend(("tag", t) for t in (self.tags if tags is None else tags))
        return result

    def prefix(self, key: str, **changes: Any) -> str:
        """``?<these filters>&<key>=``, to which a template appends one value."""
        base = urlencode(self.pairs(**changes))
        return f"?{base}&{key}=" if base else f"?{key}="

    def without_tag(self, tag: str) -> str:
        return "?" + urlencode(self.pairs(tags=tuple(t for t in self.tags if t != tag)))

    @property
    def active(self) -> bool:
        return bool(self.q or self.type or self.tags)
