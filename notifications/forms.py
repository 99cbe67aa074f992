"""The dashboard's form for adding a notification target; ``notifications.services`` validates."""

from __future__ import annotations

from typing import Any

from django import forms

from notifications.events import event_kinds
from notifications.models import NotificationTarget
from pipeline_secrets.core.forms import ServiceErrorsForm


class NotificationTargetForm(ServiceErrorsForm):
    kind = forms.ChoiceField(
        choices=NotificationTarget.Kind.choices, initial=NotificationTarget.Kind.WEBHOOK
    )
    name = forms.CharField(max_length=100, help_text="For you: what or who receives it.")
    url = forms.CharField(
        max_length=2000,
        required=False,
        label="Webhook URL",
        help_text=(
            "Webhooks: an http(s) URL whose host resolves, outside loopback and private networks."
        ),
        widget=forms.URLInput(attrs={"spellcheck": "false", "placeholder": "https://"}),
    )
    emails = forms.CharField(
        required=False,
        label="E-mail addresses",
        help_text="E-mail: up to 10, separated by commas or new lines.",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
    )
    events = forms.MultipleChoiceField(
        choices=[],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The kinds the apps registered (at start-up, after this module was imported).
        events = self.fields["events"]
        assert isinstance(events, forms.MultipleChoiceField)
        events.choices = [(key, f"{key}: {text}") for key, text in event_kinds().items()]

    def field_for(self, key: str) -> str | None:
        # The service names list items (emails.1, events.0): show them on their field.
        return super().field_for(key.split(".", 1)[0])

    def target_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        emails = [e.strip() for e in data["emails"].replace(",", "\n").splitlines() if e.strip()]
        return {
            "kind": data["kind"],
            "name": data["name"],
            "url": data["url"] or None,
            "emails": emails or None,
            "events": data["events"],
        }
