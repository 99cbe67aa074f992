"""The forms that write a secret: create, edit (new values for a stored one), delete
(confirmed by name) and add a tag."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from orgs.models import Organization
from pipeline_secrets.core.forms import ServiceErrorsForm
from secrets_app.forms.controls import JSON_IMPORTS, ValueControlsMixin
from secrets_app.forms.inputs import BAD_KEY, INPUT_ATTRS, split_tags, tag_problems, type_choices
from secrets_app.forms.picker import TypeChoice, type_groups
from secrets_app.forms.value_fields import MAX_PAIRS, ValueField, choice_list, pair_indices
from secrets_app.selectors import existing_ids
from secrets_app.types import Field, SecretType
from secrets_app.types.base import KEY_RE
from secrets_app.validation import secret_id_for, validate_name

VERIFY_LABEL = "Check the credentials with their provider before saving, where the type can"


class SecretCreateForm(ValueControlsMixin):
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
            # A key file may bring the required values instead: the server checks those.
            if spec.client_required and secret_type.name not in JSON_IMPORTS:
                field.widget.attrs["required"] = True
        if not secret_type.strict:
            self.add_pairs(pair_indices(self.data if self.is_bound else None))
        self.add_controls()
        self.describe_fields()
        if not self.is_bound:
            # The page opens ready to type the name (a full page load, not a swap).
            self.fields["name"].widget.attrs["autofocus"] = True

    @property
    def type_groups(self) -> list[tuple[str, list[TypeChoice]]]:
        return type_groups()

    def values(self) -> dict[str, str]:
        """The values to store, from every input; problems found here become field errors."""
        if not self.secret_type.strict:
            pairs = self.pairs()
            pairs.update(self.pasted_pairs(set(pairs)))
            self.refuse_empty(pairs)
            return pairs
        values = self.imported()
        values.update(
            {
                spec.name: self.cleaned_data[f"v_{spec.name}"]
                for spec in self.secret_type.fields
                if self.cleaned_data.get(f"v_{spec.name}")
            }
        )
        self.apply_password(values)
        self.require_values(values)
        return values

    def clean_name(self) -> str:
        """The name's rule and whether it is taken, in the same pass as every other field."""
        name = str(self.cleaned_data.get("name") or "")
        try:
            validate_name(name)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["name"]) from None
        if existing_ids(self.organization, {secret_id_for(name)}):
            raise forms.ValidationError(
                f"A secret named {name!r} already exists in this organization."
            )
        return name

    def clean_tags(self) -> str:
        """Every offending tag named at once: invalid ones, an empty one between two commas
        and ``banzai:`` tags the product does not know."""
        text = str(self.cleaned_data.get("tags") or "")
        problems = tag_problems(text)
        if problems:
            raise forms.ValidationError(problems)
        return text

    def tag_list(self) -> list[str]:
        return split_tags(self.cleaned_data.get("tags", ""))


class SecretEditForm(ValueControlsMixin):
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
    editing = True

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
        self.add_controls()
        self.describe_fields()

    def _add_typed_fields(self) -> None:
        for spec in self.secret_type.fields:
            field = ValueField(spec)
            if spec.safe_to_display:
                field.initial = self.current.get(spec.name, "")
                if spec.choices:
                    field.widget.choices = choice_list(spec, field.initial)
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
            self.fields[f"name_{key}"] = forms.CharField(
                required=False,
                max_length=253,
                initial=key,
                label=f"Key {key}",
                widget=forms.TextInput(attrs={**INPUT_ATTRS, "class": "mono"}),
            )
            spec = Field(key, description="Leave empty to keep the current value.")
            field = ValueField(spec, label=f"Value of {key}")
            field.widget.attrs["placeholder"] = "unchanged"
            self.fields[f"v_{key}"] = field
            self.fields[f"rm_{key}"] = forms.BooleanField(required=False, label=f"Remove {key}")
        self.add_pairs(pair_indices(self.data if self.is_bound else None)[:MAX_PAIRS] or [0])

    def edit_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        """Each key of a schemaless secret: its name (to rename it), value and "remove" box."""
        return [(self[f"name_{k}"], self[f"v_{k}"], self[f"rm_{k}"]) for k in sorted(self.current)]

    def values(self) -> dict[str, str]:
        """The current values with this form's changes applied."""
        if not self.secret_type.strict:
            return self._generic_values()
        merged = dict(self.current)
        merged.update(self.imported())
        for spec in self.secret_type.fields:
            if spec.name == "password" and self.password_field() is not None:
                continue
            new = self.cleaned_data.get(f"v_{spec.name}", "")
            if new:
                merged[spec.name] = new
            elif spec.safe_to_display:
                merged.pop(spec.name, None)
        if self.cleaned_data.get("regenerate"):
            for spec in self.secret_type.fields:
                if spec.generatable:
                    merged.pop(spec.name, None)
        else:
            self.apply_password(merged)
        return merged

    def _generic_values(self) -> dict[str, str]:
        """The kept keys (renamed, with new values where given), the new rows and the pasted
        block; a key that would appear twice is an error on the input that repeats it."""
        merged: dict[str, str] = {}
        for key in sorted(self.current):
            if self.cleaned_data.get(f"rm_{key}"):
                continue
            name = (self.cleaned_data.get(f"name_{key}") or "").strip() or key
            if not KEY_RE.fullmatch(name):
                self.add_error(f"name_{key}", BAD_KEY)
            elif name in merged:
                self.add_error(f"name_{key}", f"The key {name!r} is given twice.")
            merged[name] = self.cleaned_data.get(f"v_{key}") or self.current[key]
        for key, value in self.pairs().items():
            if key in merged:
                self.add_error(None, f"The key {key!r} exists already; change it above.")
            merged[key] = value
        merged.update(self.pasted_pairs(set(merged)))
        self.refuse_empty(merged)
        return merged


class DeleteConfirmForm(ServiceErrorsForm):
    """The secret's name, typed to confirm a delete that also removes installed copies."""

    confirm_name = forms.CharField(
        required=False,
        max_length=253,
        label="Type the secret's name to confirm",
        widget=forms.TextInput(attrs={**INPUT_ATTRS}),
    )

    def __init__(self, *args: Any, secret_name: str, required: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.secret_name = secret_name
        self.needs_name = required

    def clean_confirm_name(self) -> str:
        typed = str(self.cleaned_data.get("confirm_name") or "").strip()
        if self.needs_name and typed != self.secret_name:
            raise forms.ValidationError(
                f"Type {self.secret_name} exactly: its installed copies are deleted too."
            )
        return typed


class TagForm(ServiceErrorsForm):
    tag = forms.CharField(
        max_length=128,
        label="Add a tag",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
