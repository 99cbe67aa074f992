"""Dashboard forms for organizations, members and API tokens. Services do the validating."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from orgs.models import Membership, Organization, Role
from pipeline_secrets.core.forms import ServiceErrorsForm

EXPIRY_CHOICES = [
    ("", "Never"),
    ("7", "In 7 days"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
]


class OrganizationForm(ServiceErrorsForm):
    name = forms.CharField(
        max_length=100,
        label="Organization name",
        help_text="Usually your team or company. You become its first admin.",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )


class MemberAddForm(ServiceErrorsForm):
    username = forms.CharField(
        max_length=150,
        help_text="An existing account: it is invited at its address and joins when it "
        "accepts. Invite anyone else by email.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization


class TokenCreateForm(ServiceErrorsForm):
    name = forms.CharField(
        max_length=100,
        label="Token name",
        help_text="What the token is for, such as ci-deploy.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    expires = forms.ChoiceField(choices=EXPIRY_CHOICES, required=False, label="Expires")
    organization = forms.TypedChoiceField(
        coerce=int,
        empty_value=None,
        required=False,
        label="Organization",
        help_text="Limit the token to one organization; other organizations answer not found.",
    )
    max_role = forms.ChoiceField(
        choices=[("", "My role in each organization"), *Role.choices],
        required=False,
        label="Highest role",
        help_text="Viewer for a dashboard script, member for CI; never above your own role.",
    )
    field_aliases = {"expiresAt": "expires", "maxRole": "max_role"}

    def __init__(self, *args: Any, memberships: Iterable[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organization"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "All my organizations")] + [
            (m.organization_id, m.organization.name) for m in memberships
        ]

    def expires_at(self) -> datetime | None:
        days = self.cleaned_data.get("expires")
        return timezone.now() + timedelta(days=int(days)) if days else None


class InvitationForm(ServiceErrorsForm):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)
