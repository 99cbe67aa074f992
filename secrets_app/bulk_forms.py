"""Forms of the list's bulk actions: tag, install and delete many secrets at once.

They collect and shape input only; every item goes through the same service as its
one-secret twin (``tag_add``/``tag_remove``, ``secret_delete``; installing many is the
clusters app's ``clusters.bulk``), which validates and audits it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from orgs.models import Organization
from pipeline_secrets.core.forms import ServiceErrorsForm
from secrets_app.forms import INPUT_ATTRS
from secrets_app.validation import validate_user_tag

# One bulk action handles at most this many secrets: each is a Vault write or a delete.
MAX_BULK = 200


class BulkTagForm(ServiceErrorsForm):
    """One tag added to (or removed from) every selected secret."""

    tag = forms.CharField(
        max_length=128,
        label="Tag",
        help_text="Such as env:prod or repo:payments.",
        widget=forms.TextInput(attrs=INPUT_ATTRS),
    )
    mode = forms.ChoiceField(
        label="Change",
        choices=[("add", "Add this tag"), ("remove", "Remove this tag")],
        initial="add",
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_tag(self) -> str:
        # Checked once here, so a bad tag is one error on the field, not one per secret.
        try:
            return validate_user_tag(self.cleaned_data["tag"].strip())
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict.get("tag", exc.messages)) from None


class BulkDeleteForm(ServiceErrorsForm):
    """Deleting many secrets asks for the number being deleted, typed."""

    count = forms.IntegerField(
        label="Type the number of secrets to delete",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, organization: Organization, expected: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.expected = expected

    def clean_count(self) -> int:
        count = self.cleaned_data["count"]
        if count != self.expected:
            raise forms.ValidationError(
                f"Type {self.expected}, the number of secrets selected, to delete them."
            )
        return int(count)
