"""Dashboard forms of agent-mode clusters: what an agent cluster may receive (its scope).

The form only shapes the input (one item a line, or separated by commas);
``clusters.agent.scope.clean_scope`` checks it, and its errors (``scope.namespaces.2``)
land on the field they name.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms

from clusters.models import Cluster
from pipeline_secrets.core.forms import ServiceErrorsForm
from secrets_app.forms import INPUT_ATTRS

PAGE_PREFIX = "scope"
SEPARATORS = re.compile(r"[,\n]")
SCOPE_KEYS = ("namespaces", "tags", "secrets")


def scope_field(label: str, help_text: str, placeholder: str) -> forms.CharField:
    return forms.CharField(
        required=False,
        label=label,
        help_text=help_text,
        widget=forms.Textarea(
            attrs={**INPUT_ATTRS, "rows": 3, "class": "mono", "placeholder": placeholder}
        ),
    )


class ScopeForm(ServiceErrorsForm):
    """The three lists of a scope: a secret is received when it is named or has one of the
    tags, into a namespace matching one of the patterns."""

    namespaces = scope_field(
        "Namespaces it may receive into",
        "Names or patterns (*, ?), one a line or separated by commas. Empty: none.",
        "team-*",
    )
    tags = scope_field("Secrets with one of these tags", "Such as env:dev.", "env:dev")
    secrets = scope_field("Secrets of these names", "", "db")

    @staticmethod
    def initial_of(scope: dict[str, list[str]]) -> dict[str, str]:
        return {key: "\n".join(scope.get(key) or []) for key in SCOPE_KEYS}

    @classmethod
    def of(cls, cluster: Cluster, data: Any = None) -> ScopeForm:
        """The editor on the cluster's page, beside the install form (which has ``tags``
        too: the prefix keeps names and ids apart)."""
        return cls(data, prefix=PAGE_PREFIX, initial=cls.initial_of(cluster.scope))

    def scope(self) -> dict[str, list[str]]:
        """The lists as given: each item stripped, empty ones dropped."""
        split = {key: SEPARATORS.split(self.cleaned_data.get(key) or "") for key in SCOPE_KEYS}
        return {
            key: [item.strip() for item in items if item.strip()] for key, items in split.items()
        }

    def field_for(self, key: str) -> str | None:
        parts = key.split(".")  # scope.namespaces.2 -> namespaces
        name = parts[1] if len(parts) > 1 and parts[0] == "scope" else super().field_for(key)
        return name if name in self.fields else None
