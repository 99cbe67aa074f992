"""The controls around a type's value inputs that are not values themselves: a ``.env``
paste for generic secrets, the Generate control of a password, a key file (JSON) pasted or
uploaded. They turn into values in ``values()`` of the create and edit forms."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from pipeline_secrets.core import safejson
from secrets_app.forms.envfile import parse_env
from secrets_app.forms.inputs import INPUT_ATTRS, SecretTextarea, type_label
from secrets_app.forms.value_fields import ServiceErrorsMixin
from secrets_app.types import Field, SecretType
from secrets_app.types.password import DEFAULT_LENGTH, DEFAULT_METHOD, MAX_LENGTH, MIN_LENGTH

ALPHABET_LABELS = {
    "randAlphaNum": "Letters and digits",
    "randAlpha": "Letters only",
    "randNumeric": "Digits only",
    "randAscii": "Letters, digits and symbols",
}
# Types whose values come as one JSON document (a key file), pasted or uploaded.
JSON_IMPORTS = {"google": "service-account JSON key file"}
MAX_UPLOAD = 64 * 1024
# The paste boxes (a .env block, a key file).
PASTE_ATTRS = {**INPUT_ATTRS, "rows": 4, "class": "mono"}


class ValueControlsMixin(ServiceErrorsMixin):
    """The helpers around a type's value inputs: a ``.env`` paste for generic secrets, the
    Generate control of a password, a key file (JSON) pasted or uploaded."""

    secret_type: SecretType
    editing = False

    def add_controls(self) -> None:
        if not self.secret_type.strict:
            self.add_env_block()
        if self.password_field() is not None:
            self.add_password_controls()
        if self.secret_type.name in JSON_IMPORTS:
            self.add_key_file(JSON_IMPORTS[self.secret_type.name])

    def add_env_block(self) -> None:
        self.fields["env_block"] = forms.CharField(
            required=False,
            strip=False,
            label="Paste a .env block",
            help_text="KEY=value lines, as in a .env file; each becomes a key. Blank lines, "
            "comments and 'export' are skipped.",
            widget=SecretTextarea(attrs=PASTE_ATTRS),
        )

    def add_password_controls(self) -> None:
        """The Generate control: keep (when editing), generate with a length and alphabet, or
        type the password into its value input."""
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

    def add_key_file(self, what: str) -> None:
        self.fields["json_text"] = forms.CharField(
            required=False,
            strip=False,
            label=f"Paste the {what}",
            help_text="Its fields fill in the values below; a value typed below wins.",
            widget=SecretTextarea(attrs=PASTE_ATTRS),
        )
        self.fields["json_file"] = forms.FileField(
            required=False,
            label=f"Or upload the {what}",
            widget=forms.ClearableFileInput(attrs={"accept": "application/json,.json"}),
        )

    @property
    def max_bytes(self) -> int:
        """The most a form's fields may carry together (over it the request is refused)."""
        return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)

    @property
    def size_limit(self) -> str:
        """``max_bytes`` in words, as the form states it before anything is sent."""
        mib = self.max_bytes / (1024 * 1024)
        return f"{mib:g} MiB" if mib >= 1 else f"{self.max_bytes // 1024} KiB"

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
        self.key_file = (source, {key for key in found if not self.cleaned_data.get(f"v_{key}")})
        return found

    def require_values(self, values: dict[str, str]) -> None:
        """A type whose values come as a key file, given nothing at all: one error on the key
        file rather than "required" on each of its fields."""
        if self.secret_type.name in JSON_IMPORTS and not values and not self.errors:
            self.add_error(
                "json_text",
                f"Paste or upload the {JSON_IMPORTS[self.secret_type.name]}, "
                "or fill in its fields below.",
            )

    def key_file_failed(self) -> bool:
        """Whether the pasted or uploaded key file was refused (its error says why)."""
        return any(name in self.errors for name in ("json_text", "json_file"))

    def add_service_errors(self, exc: ValidationError) -> None:
        """Errors on values that came from the key file go on the key file, naming the
        field: the user pasted the file, not the field."""
        source, keys = getattr(self, "key_file", ("", set()))
        if not keys or not hasattr(exc, "error_dict"):
            super().add_service_errors(exc)
            return
        rest: dict[str, list[str]] = {}
        for key, messages in exc.message_dict.items():
            name = key.removeprefix("values.")
            if key.startswith("values.") and name in keys:
                for message in messages:
                    self.add_error(source, f"{name}: {message}")
            else:
                rest[key] = messages
        if rest:
            super().add_service_errors(ValidationError(rest))

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
