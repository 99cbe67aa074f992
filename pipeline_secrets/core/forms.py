"""Form plumbing shared by every app: showing a service's ValidationError on the fields
it names."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

# Error keys that are about the whole input rather than one field.
GENERAL_KEYS = {NON_FIELD_ERRORS, "values"}


class ServiceErrorsForm(forms.Form):
    """A form that shows a service's ``ValidationError`` on the fields it names."""

    field_aliases: dict[str, str] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.describe_fields()

    def describe_fields(self) -> None:
        """Point every input at its help text and its error slot (filled in by htmx later)."""
        for name, field in self.fields.items():
            auto = f"id_{self.add_prefix(name)}"  # a form's prefix is in its ids too
            ids = [f"{auto}_helptext"] if field.help_text else []
            field.widget.attrs.setdefault("aria-describedby", " ".join([*ids, f"{auto}_error"]))

    def field_for(self, key: str) -> str | None:
        name = self.field_aliases.get(key, key)
        return name if name in self.fields else None

    def add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, messages in exc.message_dict.items():
            target = self.field_for(key)
            prefix = "" if target or key in GENERAL_KEYS else f"{key}: "
            for message in messages:
                self.add_error(target, prefix + message)
