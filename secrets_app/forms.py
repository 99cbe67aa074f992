"""Dashboard forms for secrets, built from the type registry: a new type needs no form code.

The forms only collect and shape input; the services validate it. Errors raised by the
services (keys ``name``, ``type``, ``tags``, ``values.<field>``) are put back on the form
field they name with ``add_service_errors``. Secret inputs never render a value back: a
value reaches a page only when a member reveals it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.http import urlencode

from orgs.models import Organization
from pipeline_secrets.core import safejson
from pipeline_secrets.core.forms import ServiceErrorsForm
from secrets_app.types import REGISTRY, Field, SecretType
from secrets_app.types.base import KEY_RE
from secrets_app.types.password import DEFAULT_LENGTH, DEFAULT_METHOD, MAX_LENGTH, MIN_LENGTH

# Descriptions that announce a multi-line value (PEM blocks, kubeconfigs).
MULTILINE_HINT = re.compile(r"\b(pem|certificate|private key|kubeconfig)\b", re.IGNORECASE)
PAIR_KEY_RE = re.compile(r"^pair_key_(\d{1,3})$")
NEW_PAIRS = 3
FOLD_AT = 3
VERIFY_LABEL = "Check the credentials with their provider before saving, where the type can"
MAX_PAIRS = 200
TAG_SPLIT = re.compile(r"[\s,]+")
INPUT_ATTRS = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}
KEY_HELP = "Letters, digits, '-', '_' and '.' (at most 253)."
BAD_KEY = "A key may contain only letters, digits, '-', '_' and '.' (1-253 characters)."
ALPHABET_LABELS = {
    "randAlphaNum": "Letters and digits",
    "randAlpha": "Letters only",
    "randNumeric": "Digits only",
    "randAscii": "Letters, digits and symbols",
}
# Types whose values come as one JSON document (a key file), pasted or uploaded.
JSON_IMPORTS = {"google": "service-account JSON key file"}
MAX_UPLOAD = 64 * 1024
ENV_LINE = re.compile(r"^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$")
# Names of types as people write them, for headings.
TYPE_LABELS = {
    "tls": "TLS",
    "ssh": "SSH",
    "htpasswd": "htpasswd",
    "pkecert": "PKE certificate",
    "fn": "Fn",
    "digitalocean": "DigitalOcean",
    "pagerduty": "PagerDuty",
}


def type_label(name: str) -> str:
    return TYPE_LABELS.get(name, name.capitalize())


def split_tags(text: str) -> list[str]:
    return [t for t in TAG_SPLIT.split(text.strip()) if t]


def is_multiline(field: Field) -> bool:
    return not field.safe_to_display and bool(MULTILINE_HINT.search(field.description))


def parse_env(text: str) -> tuple[dict[str, str], list[str]]:
    """``KEY=value`` lines (``export``, comments, blank lines and quotes as in a ``.env``
    file) as pairs, and errors that name lines, never values."""
    pairs: dict[str, str] = {}
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = ENV_LINE.fullmatch(line)
        if match is None:
            errors.append(f"Line {number} is not KEY=value.")
            continue
        key, value = match.group(1), match.group(2)
        if not KEY_RE.fullmatch(key):
            errors.append(f"Line {number}: {BAD_KEY}")
        elif key in pairs:
            errors.append(f"Line {number}: the key {key!r} is given twice.")
        else:
            pairs[key] = unquote(value)
    return pairs, errors


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        inner = value[1:-1]
        if value[0] == '"':
            inner = inner.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        return inner
    return value


def env_text(values: dict[str, str]) -> str:
    """Values as a ``.env`` file: one ``KEY="value"`` line each, newlines escaped."""

    def quoted(value: str) -> str:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'

    return "".join(f"{key}={quoted(values[key])}\n" for key in sorted(values))


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
        if spec.choices:
            return forms.Select(choices=choice_list(spec))
        if self.multiline:
            return SecretTextarea(attrs={**attrs, "rows": 4, "class": "mono"})
        if spec.safe_to_display:
            return forms.TextInput(attrs=attrs)
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
                self.add_error(f"pair_key_{i}", BAD_KEY)
            elif key in result:
                self.add_error(f"pair_key_{i}", f"The key {key!r} is given twice.")
            elif key:
                result[key] = value
        return result


class ValueControlsMixin(ServiceErrorsMixin):
    """The helpers around a type's value inputs: a ``.env`` paste for generic secrets, the
    Generate control of a password, a key file (JSON) pasted or uploaded."""

    secret_type: SecretType
    editing = False

    def add_controls(self) -> None:
        stype = self.secret_type
        area = {**INPUT_ATTRS, "rows": 4, "class": "mono"}
        if not stype.strict:
            self.fields["env_block"] = forms.CharField(
                required=False,
                strip=False,
                label="Paste a .env block",
                help_text="KEY=value lines, as in a .env file; each becomes a key. Blank lines, "
                "comments and 'export' are skipped.",
                widget=SecretTextarea(attrs=area),
            )
        if self.password_field() is not None:
            modes = [("keep", "Keep the current password")] if self.editing else []
            modes += [("generate", "Generate a password"), ("type", "Type a password")]
            self.fields["password_mode"] = forms.ChoiceField(
                required=False,
                choices=modes,
                initial=modes[0][0],
                label="Password",
                widget=forms.RadioSelect,
            )
            self.fields["gen_length"] = forms.IntegerField(
                required=False,
                min_value=MIN_LENGTH,
                max_value=MAX_LENGTH,
                initial=DEFAULT_LENGTH,
                label="Length",
                help_text=f"From {MIN_LENGTH} to {MAX_LENGTH} characters.",
            )
            self.fields["gen_alphabet"] = forms.ChoiceField(
                required=False,
                choices=list(ALPHABET_LABELS.items()),
                initial=DEFAULT_METHOD,
                label="Characters",
            )
            field = self.fields["v_password"]
            field.help_text = "Stored exactly as typed; leave empty to use the option above."
        if stype.name in JSON_IMPORTS:
            what = JSON_IMPORTS[stype.name]
            self.fields["json_text"] = forms.CharField(
                required=False,
                strip=False,
                label=f"Paste the {what}",
                help_text="Its fields fill in the values below; a value typed below wins.",
                widget=SecretTextarea(attrs=area),
            )
            self.fields["json_file"] = forms.FileField(
                required=False,
                label=f"Or upload the {what}",
                widget=forms.ClearableFileInput(attrs={"accept": "application/json,.json"}),
            )

    @property
    def type_label(self) -> str:
        return type_label(self.secret_type.name)

    def password_field(self) -> Field | None:
        """The type's generatable ``password``, which gets the Generate control."""
        spec = next((f for f in self.secret_type.fields if f.name == "password"), None)
        return spec if spec is not None and spec.generatable else None

    def password_mode(self) -> str:
        """keep, generate or type: "type" whenever a password is typed, else as chosen (or,
        for a client posting without the control, keep when editing and generate when not)."""
        typed = self.cleaned_data.get("v_password", "")
        chosen = str(self.cleaned_data.get("password_mode") or "")
        if typed:
            # A typed password is what the user means, whichever option is still selected.
            return "type"
        return chosen or ("keep" if self.editing else "generate")

    @property
    def generates_password(self) -> bool:
        return self.password_field() is not None and self.password_mode() == "generate"

    def apply_password(self, values: dict[str, str]) -> None:
        """Put the Generate control's choice into ``values``: a spec the type generates from,
        the typed password, or nothing (keep the stored one)."""
        if self.password_field() is None:
            return
        mode = self.password_mode()
        if mode == "generate":
            method = self.cleaned_data.get("gen_alphabet") or DEFAULT_METHOD
            length = self.cleaned_data.get("gen_length") or DEFAULT_LENGTH
            values["password"] = f"{method},{length}"
        elif mode == "type":
            typed = self.cleaned_data.get("v_password", "")
            if typed:
                values["password"] = typed
            else:
                self.add_error("v_password", "Type the password, or choose “Generate a password”.")
        else:
            current: dict[str, str] = getattr(self, "current", {})
            values.pop("password", None)
            if "password" in current:
                values["password"] = current["password"]

    def imported(self) -> dict[str, str]:
        """The fields of a pasted or uploaded key file; errors go on the paste or the file."""
        if self.secret_type.name not in JSON_IMPORTS:
            return {}
        upload = self.cleaned_data.get("json_file")
        source, text = "json_text", self.cleaned_data.get("json_text", "")
        if upload:
            source = "json_file"
            if upload.size > MAX_UPLOAD:
                self.add_error(source, f"The file is larger than {MAX_UPLOAD // 1024} KiB.")
                return {}
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error(source, "The file is not UTF-8 text.")
                return {}
        if not text.strip():
            return {}
        try:
            document = safejson.loads(text)
        except json.JSONDecodeError as exc:
            self.add_error(
                source, f"Not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}."
            )
            return {}
        if not isinstance(document, dict):
            self.add_error(source, "The JSON must be an object with the key file's fields.")
            return {}
        known = set(self.secret_type.field_names())
        found: dict[str, str] = {}
        for key, value in document.items():
            if key not in known:
                continue
            if not isinstance(value, str):
                self.add_error(source, f"The field {key!r} must be a string.")
                continue
            found[key] = value
        missing = sorted(
            f.name for f in self.secret_type.fields if f.client_required and f.name not in found
        )
        if missing:
            self.add_error(source, f"The key file lacks {', '.join(missing)}.")
        return found

    def pasted_pairs(self, taken: set[str]) -> dict[str, str]:
        """The pairs of a pasted ``.env`` block; a key given elsewhere too is an error."""
        text = self.cleaned_data.get("env_block", "")
        if not text:
            return {}
        pairs, errors = parse_env(text)
        for key in pairs:
            if key in taken:
                errors.append(f"The key {key!r} is given twice.")
        for error in errors:
            self.add_error("env_block", error)
        return pairs

    def refuse_empty(self, values: dict[str, str]) -> None:
        if not self.secret_type.strict and not values and not self.errors:
            target = next((n for n in self.fields if n.startswith("pair_key_")), None)
            self.add_error(target, "A generic secret needs at least one key and value.")


def type_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in REGISTRY]


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
        return values

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


LIST_SORTS = {
    "name": "Name, A to Z",
    "-name": "Name, Z to A",
    "type": "Type",
    "-updated": "Recently updated",
    "updated": "Least recently updated",
    "expiry": "Expiring soonest",
    "-expiry": "Expiring latest",
    "-type": "Type, Z to A",
}
LIST_PAGE_SIZES = (25, 50, 100, 200)
LIST_DEFAULT_SORT = "name"
LIST_DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class SecretFilters:
    """The list's filters, order and page size as read from (and written back to) the query
    string. A type, order or page size the list does not know is kept in ``errors`` (by
    control name) rather than silently ignored."""

    q: str = ""
    type: str = ""
    tags: tuple[str, ...] = ()
    sort: str = LIST_DEFAULT_SORT
    per: int = LIST_DEFAULT_PAGE_SIZE
    errors: dict[str, str] = dataclass_field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_query(cls, query: QueryDict) -> SecretFilters:
        errors: dict[str, str] = {}
        # No stored text holds a NUL, and PostgreSQL refuses one in a query: drop them.
        kind = query.get("type", "").replace("\x00", "").strip()
        if kind and kind not in REGISTRY:
            errors["type"] = (
                f"There is no type named \u201c{kind[:40]}\u201d: choose one from the list."
            )
            kind = ""
        sort = query.get("sort", "") or LIST_DEFAULT_SORT
        if sort not in LIST_SORTS:
            errors["sort"] = "Sort by name, type, updated or expiry: choose one from the list."
            sort = LIST_DEFAULT_SORT
        raw_per = query.get("per", "")
        per = int(raw_per) if raw_per.isdigit() and len(raw_per) < 5 else 0
        if not raw_per:
            per = LIST_DEFAULT_PAGE_SIZE
        elif per not in LIST_PAGE_SIZES:
            sizes = ", ".join(map(str, LIST_PAGE_SIZES))
            errors["per"] = f"Show {sizes} a page: choose one from the list."
            per = LIST_DEFAULT_PAGE_SIZE
        raw_tags = (t.replace("\x00", "").strip()[:128] for t in query.getlist("tag"))
        tags = dict.fromkeys(t for t in raw_tags if t)
        return cls(
            q=query.get("q", "").replace("\x00", "").strip()[:253],
            type=kind,
            tags=tuple(tags)[:20],
            sort=sort,
            per=per,
            errors=errors,
        )

    def pairs(
        self,
        *,
        type: str | None = None,
        tags: tuple[str, ...] | None = None,
        sort: str | None = None,
        keep_order: bool = True,
    ) -> list[tuple[str, str]]:
        result = [("q", self.q)] if self.q else []
        kind = self.type if type is None else type
        if kind:
            result.append(("type", kind))
        result.extend(("tag", t) for t in (self.tags if tags is None else tags))
        order = self.sort if sort is None else sort
        if keep_order and order != LIST_DEFAULT_SORT:
            result.append(("sort", order))
        if keep_order and self.per != LIST_DEFAULT_PAGE_SIZE:
            result.append(("per", str(self.per)))
        return result

    def prefix(self, key: str, **changes: Any) -> str:
        """``?<these filters>&<key>=``, to which a template appends one value."""
        base = urlencode(self.pairs(**changes))
        return f"?{base}&{key}=" if base else f"?{key}="

    def query(self, **changes: Any) -> str:
        """``?<these filters>``, or "" when there are none."""
        base = urlencode(self.pairs(**changes))
        return f"?{base}" if base else ""

    def without_tag(self, tag: str) -> str:
        return "?" + urlencode(self.pairs(tags=tuple(t for t in self.tags if t != tag)))

    @property
    def active(self) -> bool:
        return bool(self.q or self.type or self.tags)
