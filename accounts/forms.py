"""Sign-in's forms: the first admin, and an organization's GitHub link and group mappings.
Services do the validating."""

from __future__ import annotations

from typing import Any

from django import forms

from orgs.models import Role
from pipeline_secrets.core.forms import ServiceErrorsForm


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
