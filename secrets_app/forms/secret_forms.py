"""The forms that write a secret: create, delete (confirmed by name) and add a tag; the edit
form lives in ``secrets_app.forms.edit_form``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from orgs.models import Organization
from pipeline_secrets.core.forms import ServiceErrorsForm
from secrets_app.forms.controls import JSON_IMPORTS, ValueControlsMixin
from secrets_app.forms.inputs import INPUT_ATTRS, split_tags, tag_problems, type_choices
from secrets_app.forms.picker import TypeChoice, type_groups
from secrets_app.forms.value_fields import ValueField, pair_indices
from secrets_app.selectors import existing_ids
from secrets_app.types import SecretType
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
