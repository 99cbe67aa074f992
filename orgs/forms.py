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


class FirstAdminForm(ServiceErrorsForm):
    """The first account of a fresh installation and its organization."""

    field_aliases = {"password": "password1", "name": "organization"}

    setup_code = forms.CharField(
        label="Setup code",
        max_length=100,
        help_text="Printed by make run (also in setup-code under the data directory).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    username = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters, not a common password.",
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    organization = forms.CharField(
        label="Organization name",
        max_length=100,
        help_text="Your team or company; you become its admin.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


class InvitationForm(ServiceErrorsForm):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class GitHubLinkForm(ServiceErrorsForm):
    github_org = forms.CharField(
        max_length=100,
        required=False,
        label="GitHub organization",
        help_text="One the operator trusts (GITHUB_TRUSTED_ORGS). Its members join at their "
        "next GitHub sign-in; empty removes the link.",
    )
    default_role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)
    team_roles = forms.CharField(
        required=False,
        label="Team roles",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: team-slug=role (viewer, member or admin).",
    )

    def clean_team_roles(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for line in (self.cleaned_data.get("team_roles") or "").splitlines():
            if not line.strip():
                continue
            slug, sep, role = line.partition("=")
            if not sep or not slug.strip() or role.strip() not in Role.values:
                raise forms.ValidationError(f"Not team-slug=role: {line.strip()!r}.")
            result[slug.strip()] = role.strip()
        return result


class GroupMappingForm(ServiceErrorsForm):
    group = forms.CharField(
        max_length=200,
        label="LDAP group",
        help_text="One the operator trusts (LDAP_TRUSTED_GROUPS).",
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)
