"""The edit form of a stored secret: it shows what is there.

Fields that are no secret (``Field.in_clear``: names, hosts, certificates) start with their
stored value and are saved as they stand (empty clears them). The others are masked: an
empty input keeps the stored value, "Clear this value" empties it, and a reveal (an audited
read) puts the stored value into the input, which is then saved as it stands. The page
marks a revealed input with a hidden ``shown_<field>``. A generated password has one
control: keep it, set a new one, or generate one with the length and characters read from
the stored password.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import QueryDict

from orgs.models import Organization
from secrets_app.forms.controls import ValueControlsMixin
from secrets_app.forms.inputs import BAD_KEY, INPUT_ATTRS
from secrets_app.forms.secret_forms import VERIFY_LABEL
from secrets_app.forms.value_fields import MAX_PAIRS, ValueField, choice_list, pair_indices
from secrets_app.types import Field, SecretType
from secrets_app.types.base import KEY_RE
from secrets_app.types.password import MAX_LENGTH, MIN_LENGTH, describe_spec, spec_of

SHOWN = "shown_"
PASSWORD_MODES = [
    ("keep", "Keep the current password"),
    ("type", "Set a new password"),
    ("generate", "Generate a new password"),
]
CLEAR_AND_TYPED = "Type a new value or clear it, not both."


@dataclass(frozen=True)
class EditRow:
    """One value on the edit form, as the template draws it.

    ``state``: ``clear`` (no secret, shown as stored), ``shown`` (revealed on this page),
    ``masked`` (stored, hidden until revealed) or ``unset`` (nothing stored)."""

    name: str
    value: forms.BoundField
    state: str
    clear: forms.BoundField | None = None
    key: forms.BoundField | None = None
    remove: forms.BoundField | None = None


class SecretEditForm(ValueControlsMixin):
    """New values for a stored secret; ``current`` holds its stored values (never rendered
    unless shown in clear or revealed), ``revealed`` the fields this answer reveals."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    verify = forms.BooleanField(required=False, initial=True, label=VERIFY_LABEL)
    editing = True
    # The stored password's length and characters in words, when there is one.
    stored_shape = ""

    def __init__(
        self,
        *args: Any,
        organization: Organization,
        secret_type: SecretType,
        current: dict[str, str],
        revealed: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.secret_type = secret_type
        self.current = {k: str(v) for k, v in current.items()}
        self.revealed = set(revealed) & set(self.current)
        self.shown = self._shown(self.revealed)
        if secret_type.strict:
            self._add_typed_fields()
        else:
            self._add_generic_fields()
        self.add_controls()
        if self.password_field() is not None:
            self._describe_password()
        self.describe_fields()

    def _shown(self, revealed: set[str]) -> set[str]:
        """The stored values this page shows in their inputs: those revealed now (a bound
        form gets the stored value in place of what was posted) and those marked shown."""
        marked = {k.removeprefix(SHOWN) for k in self.data if k.startswith(SHOWN)}
        shown = (revealed | marked) & set(self.current)
        inputs = revealed & shown - {self.controlled}
        if self.is_bound and inputs:
            data = QueryDict(mutable=True)
            data.update(self.data)
            for name in inputs:
                data[f"v_{name}"] = self.current[name]
            self.data = data
        return shown

    @property
    def controlled(self) -> str:
        """The value drawn by a control rather than an input: a generatable password."""
        return "password" if self.password_field() is not None else ""

    def _value_field(self, spec: Field, **kwargs: Any) -> ValueField:
        stored = self.current.get(spec.name)
        visible = spec.in_clear or (spec.name in self.shown and spec.name != self.controlled)
        field = ValueField(
            spec, shown=visible, multiline=visible and "\n" in (stored or ""), **kwargs
        )
        if spec.in_clear or spec.name in self.revealed:
            # Only what is no secret or revealed now (an audited read) starts filled in.
            field.initial = stored or ""
        elif stored is not None:
            field.widget.attrs["placeholder"] = "stored; unchanged unless you type a new value"
        return field

    def _add_typed_fields(self) -> None:
        for spec in self.secret_type.fields:
            field = self.fields[f"v_{spec.name}"] = self._value_field(spec)
            if spec.choices:
                field.widget.choices = choice_list(spec, field.initial or "")
            kept = spec.required or spec.in_clear or spec.name == self.controlled
            if spec.name in self.current and not kept:
                self.fields[f"clear_{spec.name}"] = forms.BooleanField(
                    required=False, label="Clear this value"
                )
        generated = [s.name for s in self.secret_type.fields if s.generatable]
        if generated and self.password_field() is None:
            self.fields["regenerate"] = forms.BooleanField(
                required=False,
                label="Generate new values",
                help_text=f"Replaces {', '.join(generated)}; the new values are shown once.",
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
            self.fields[f"v_{key}"] = self._value_field(Field(key), label=f"Value of {key}")
            self.fields[f"clear_{key}"] = forms.BooleanField(
                required=False, label="Clear this value"
            )
            self.fields[f"rm_{key}"] = forms.BooleanField(required=False, label=f"Remove {key}")
        self.add_pairs(pair_indices(self.data if self.is_bound else None)[:MAX_PAIRS] or [0])

    def _describe_password(self) -> None:
        """Keep, set or generate; the generator starts from the stored password's length and
        characters, so "generate" makes one of the same shape unless changed."""
        mode = self.fields["password_mode"]
        assert isinstance(mode, forms.ChoiceField)
        mode.choices = PASSWORD_MODES
        mode.initial = "keep"
        stored = self.current.get("password", "")
        if stored:
            method, length = spec_of(stored)
            self.fields["gen_length"].initial = length
            self.fields["gen_alphabet"].initial = method
            if MIN_LENGTH <= len(stored) <= MAX_LENGTH:
                self.stored_shape = describe_spec(method, length)
        field = self.fields["v_password"]
        field.label = "New password"
        field.help_text = "Stored exactly as typed."

    # ------------------------------------------------------------------ for the template

    def password_state(self) -> str:
        return self.state("password")

    def state(self, name: str, spec: Field | None = None) -> str:
        if spec is not None and spec.in_clear:
            return "clear"
        if name in self.shown:
            return "shown"
        return "masked" if name in self.current else "unset"

    def edit_fields(self) -> list[EditRow]:
        """The typed values but the password (drawn by its control), in the type's order."""
        found = []
        for spec in self.secret_type.fields:
            if spec.name == self.controlled:
                continue
            clear = f"clear_{spec.name}"
            found.append(
                EditRow(
                    name=spec.name,
                    value=self[f"v_{spec.name}"],
                    state=self.state(spec.name, spec),
                    clear=self[clear] if clear in self.fields else None,
                )
            )
        return found

    def edit_rows(self) -> list[EditRow]:
        """Each key of a schemaless secret: its name (to rename it), value, clear and remove."""
        return [self.key_row(key) for key in sorted(self.current)]

    def key_row(self, key: str) -> EditRow:
        return EditRow(
            name=key,
            value=self[f"v_{key}"],
            state=self.state(key),
            clear=self[f"clear_{key}"],
            key=self[f"name_{key}"],
            remove=self[f"rm_{key}"],
        )

    def row_for(self, name: str) -> EditRow | None:
        if not self.secret_type.strict:
            return self.key_row(name) if name in self.current else None
        return next((row for row in self.edit_fields() if row.name == name), None)

    # ------------------------------------------------------------------ the values to save

    def new_value(self, name: str, in_clear: bool = False) -> str | None:
        """What the input of ``name`` asks for: a value, "" (clear it), None (keep it)."""
        typed = self.cleaned_data.get(f"v_{name}", "")
        cleared = self.cleaned_data.get(f"clear_{name}")
        if in_clear or name in self.shown:
            return typed
        if cleared and typed:
            self.add_error(f"clear_{name}", CLEAR_AND_TYPED)
        if cleared:
            return ""
        return typed or None

    def values(self) -> dict[str, str]:
        """The stored values with this form's changes applied."""
        if not self.secret_type.strict:
            return self._generic_values()
        merged = dict(self.current)
        merged.update(self.imported())
        for spec in self.secret_type.fields:
            if spec.name == self.controlled:
                continue
            new = self.new_value(spec.name, spec.in_clear)
            if new and new != self.current.get(spec.name):
                merged[spec.name] = new
            elif new == "":
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
            new = self.new_value(key)
            merged[name] = self.current[key] if new is None else new
        for key, value in self.pairs().items():
            if key in merged:
                self.add_error(None, f"The key {key!r} exists already; change it above.")
            merged[key] = value
        merged.update(self.pasted_pairs(set(merged)))
        self.refuse_empty(merged)
        return merged
