"""Sign-in's forms: the first admin (checked whole, every field in one pass, before the
service makes the account), and an organization's GitHub link and group mappings, which
the services validate."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password

from accounts import first_run
from orgs.models import Role, User
from pipeline_secrets.core.forms import ServiceErrorsForm

# Usernames as Django's own validator has them: letters, digits and @ . + - _, no spaces.
USERNAME_RE = re.compile(r"^[\w.@+-]+\Z")
USERNAME_RULE = "Letters, digits and @ . + - _ only, without spaces."


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
        max_length=150,
        help_text=USERNAME_RULE,
        widget=forms.TextInput(attrs={"autocomplete": "username", "spellcheck": "false"}),
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

    def clean_setup_code(self) -> str:
        code = str(self.cleaned_data.get("setup_code") or "")
        if not first_run.setup_code_matches(code):
            raise forms.ValidationError("This is not the setup code printed by make run.")
        return code

    def clean_username(self) -> str:
        username = str(self.cleaned_data.get("username") or "").strip()
        if not username:
            raise forms.ValidationError("This field is required.")
        if not USERNAME_RE.fullmatch(username):
            bad = sorted({c for c in username if not USERNAME_RE.fullmatch(c)})
            named = " ".join(repr(c) for c in bad[:10])
            raise forms.ValidationError(f"{USERNAME_RULE} This one has {named}.")
        return username

    def clean_organization(self) -> str:
        name = str(self.cleaned_data.get("organization") or "").strip()
        if not name.isprintable():
            raise forms.ValidationError("Must not contain control characters.")
        return name

    def clean(self) -> dict[str, Any]:
        """Every field's problem in one pass: the password is judged with the username typed
        beside it, whatever else is wrong."""
        data = super().clean() or {}
        password = data.get("password1")
        if password:
            user = User(username=data.get("username") or self.data.get("username", ""))
            try:
                validate_password(password, user)
            except forms.ValidationError as exc:
                self.add_error("password1", exc.messages)
        if password and password != data.get("password2"):
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
