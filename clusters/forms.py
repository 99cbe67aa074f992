"""Dashboard forms for clusters: registering one and installing secrets into it.

The forms only collect and shape input; ``clusters.services`` validates it. Every choice
(kubeconfig secrets, secrets to install) is narrowed to the form's organization. Service
errors keyed ``secretId``, ``values.K8Sconfig`` or ``query.ids`` land on the field they name.
"""

from __future__ import annotations

from typing import Any

from django import forms

from clusters.services import InstallQuery
from orgs.models import Organization
from pipeline_secrets.core.forms import ServiceErrorsForm
from secrets_app import selectors as secret_selectors
from secrets_app.forms import INPUT_ATTRS, SecretTextarea, split_tags, type_choices
from secrets_app.types.kubernetes import FIELD as KUBECONFIG_FIELD

LABEL_HELP = "Lowercase letters, digits and '-', up to 63 characters."
PASTE_INSTEAD = "None: I paste a kubeconfig below"


class ChoicesForm(ServiceErrorsForm):
    """A form whose choices are filled in per organization."""

    def choice_field(self, name: str) -> forms.ChoiceField:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        return field


class ClusterCreateForm(ChoicesForm):
    """A name and where the kubeconfig comes from: a ``kubernetes`` secret, or pasted."""

    name = forms.CharField(
        max_length=63,
        help_text=f"Such as dev or prod-eu. {LABEL_HELP}",
        widget=forms.TextInput(attrs=INPUT_ATTRS),
    )
    secret = forms.ChoiceField(
        required=False,
        label="Kubeconfig secret",
        help_text="A kubernetes secret of this organization that holds the kubeconfig.",
    )
    kubeconfig = forms.CharField(
        required=False,
        strip=False,
        label="Or paste a kubeconfig",
        help_text="YAML or base64 of it. It is kept in Vault as a kubernetes secret named "
        "<name>-kubeconfig, tagged cluster:<name>.",
        widget=SecretTextarea(attrs={**INPUT_ATTRS, "rows": 8, "class": "mono"}),
    )
    verify = forms.BooleanField(
        required=False,
        initial=True,
        label="Check that the pasted kubeconfig reaches its cluster before saving it",
    )
    field_aliases = {
        "secretId": "secret",
        f"values.{KUBECONFIG_FIELD}": "kubeconfig",
        "values": "kubeconfig",
    }

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        rows = secret_selectors.secret_list(organization=organization, type="kubernetes")
        self.choice_field("secret").choices = [
            ("", PASTE_INSTEAD),
            *((row.secret_id, row.name) for row in rows),
        ]

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        chosen, pasted = cleaned.get("secret"), cleaned.get("kubeconfig", "").strip()
        if chosen and pasted:
            self.add_error("secret", "Choose a kubeconfig secret or paste a kubeconfig, not both.")
        elif not chosen and not pasted and "secret" in cleaned:
            self.add_error("kubeconfig", "Paste a kubeconfig, or choose a kubeconfig secret.")
        return cleaned

    def source(self) -> dict[str, str | None]:
        """``secret_id`` or ``kubeconfig`` for ``cluster_create``: the one that was given."""
        chosen = self.cleaned_data.get("secret") or None
        return {
            "secret_id": chosen,
            "kubeconfig": None if chosen else self.cleaned_data["kubeconfig"],
        }


class InstallForm(ChoicesForm):
    """Where to install and which secrets: by type, tags and/or names (all must match)."""

    namespace = forms.CharField(
        max_length=63,
        help_text=f"Created when missing. {LABEL_HELP}",
        widget=forms.TextInput(attrs={**INPUT_ATTRS, "placeholder": "build"}),
    )
    type = forms.ChoiceField(required=False, label="Of type")
    tags = forms.CharField(
        required=False,
        label="Tagged",
        help_text="Every tag must match. Separated by spaces or commas, such as repo:pipeline.",
        widget=forms.TextInput(attrs={**INPUT_ATTRS, "placeholder": "repo:pipeline"}),
    )
    ids = forms.MultipleChoiceField(
        required=False,
        label="Or these secrets",
        help_text="Ctrl or Cmd + click picks several.",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    ttl = forms.IntegerField(
        required=False,
        label="Remove after (seconds)",
        help_text="Optional. The installed copies are deleted from the cluster after this long.",
        widget=forms.NumberInput(attrs={"min": 1, "placeholder": "3600"}),
    )
    overwrite = forms.BooleanField(
        required=False,
        label="Replace Secrets of the same name that this product does not manage",
    )
    field_aliases = {"query.ids": "ids"}

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.choice_field("type").choices = [("", "Any type"), *type_choices()]
        rows = secret_selectors.secret_list(organization=organization).only(
            "secret_id", "name", "type"
        )
        self.choice_field("ids").choices = [(r.secret_id, f"{r.name} ({r.type})") for r in rows]

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        if not self.errors and self.query().empty:
            self.add_error(None, "Choose the secrets to install: by type, by tags or by name.")
        return cleaned

    def query(self) -> InstallQuery:
        return InstallQuery(
            type=self.cleaned_data.get("type") or None,
            tags=split_tags(self.cleaned_data.get("tags") or ""),
            ids=list(self.cleaned_data.get("ids") or []),
        )
