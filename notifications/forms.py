"""The dashboard's forms for adding and editing a notification target;
``notifications.services`` validates."""

from __future__ import annotations

from typing import Any

from django import forms

from notifications import events as kinds
from notifications.models import NotificationTarget
from pipeline_secrets.core.forms import ServiceErrorsForm

EVENTS_HELP = (
    "None ticked: every event except the opt-in ones (values read). Tick some: only those."
)


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
    format = forms.ChoiceField(
        choices=NotificationTarget.Format.choices,
        initial=NotificationTarget.Format.GENERIC,
        required=False,
        label="Payload format",
        help_text=(
            "Webhooks: the product's signed JSON, or a message Slack (and Mattermost, "
            "Rocket.Chat) incoming webhooks post as is."
        ),
    )
    emails = forms.CharField(
        required=False,
        label="E-mail addresses",
        help_text="E-mail: up to 10, separated by commas or new lines.",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
    )
    events = forms.MultipleChoiceField(
        choices=[], required=False, widget=forms.CheckboxSelectMultiple, help_text=EVENTS_HELP
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The kinds the apps registered (at start-up, after this module was imported).
        events = self.fields["events"]
        assert isinstance(events, forms.MultipleChoiceField)
        events.choices = [(key, key) for key in kinds.event_kinds()]

    def event_groups(self) -> list[dict[str, Any]]:
        """The event checkboxes by group, each with its kind's help (the Events fieldset)."""
        boxes = {box.data["value"]: box for box in self["events"]}
        return [
            {
                "title": title,
                "items": [
                    {"box": boxes[kind.name], "kind": kind}
                    for kind in members
                    if kind.name in boxes
                ],
            }
            for title, members in kinds.groups()
        ]

    def field_for(self, key: str) -> str | None:
        # The service names list items (emails.1, events.0): show them on their field.
        return super().field_for(key.split(".", 1)[0])

    def target_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        given = (data.get("emails") or "").replace(",", "\n").splitlines()
        emails = [e.strip() for e in given if e.strip()]
        kind = data.get("kind") or self.initial.get("kind")
        arguments = {
            "name": data["name"],
            "url": data.get("url") or None,
            "emails": emails or None,
            "events": data["events"],
            # An e-mail has no payload format.
            "format": data.get("format") if kind == NotificationTarget.Kind.WEBHOOK else None,
        }
        if "kind" in self.fields:
            arguments["kind"] = kind
        if "new_secret" in self.fields:
            arguments["new_secret"] = bool(data.get("new_secret"))
        return arguments


class NotificationTargetEditForm(NotificationTargetForm):
    """The same fields but the kind (a target keeps it), and a new signing secret."""

    new_secret = forms.BooleanField(
        required=False,
        label="Replace the signing secret",
        help_text="The new one is shown once; the old one stops signing at once.",
    )

    def __init__(self, *args: Any, target: NotificationTarget, **kwargs: Any) -> None:
        initial = {
            "kind": target.kind,
            "name": target.name,
            "url": target.url,
            "emails": "\n".join(target.emails),
            "events": list(target.events),
            "format": target.format,
        }
        super().__init__(*args, initial=initial, **kwargs)
        del self.fields["kind"]
        if target.kind == NotificationTarget.Kind.EMAIL:
            for name in ("url", "format", "new_secret"):
                del self.fields[name]
        else:
            del self.fields["emails"]
