"""Dashboard forms for clusters: registering one and installing secrets into it.

The forms only collect and shape input; ``clusters.services`` validates it. Every choice
(kubeconfig secrets, secrets to install) is narrowed to the form's organization. Service
errors keyed ``secretId``, ``values.K8Sconfig`` or ``query.ids`` land on the field they name.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from clusters import kube
from clusters import selectors as cluster_selectors
from clusters.agent_forms import ScopeForm
from clusters.models import Cluster
from clusters.namespaces import validate_label
from clusters.services import InstallQuery
from orgs.models import Organization, Role
from pipeline_secrets.core import safejson
from pipeline_secrets.core.forms import ServiceErrorsForm
from secrets_app import selectors as secret_selectors
from secrets_app.forms import INPUT_ATTRS, SecretTextarea, split_tags, type_choices
from secrets_app.types.kubernetes import FIELD as KUBECONFIG_FIELD
from secrets_app.types.kubernetes import kubeconfig_text
from secrets_app.validation import secret_id_for

LABEL_HELP = "Lowercase letters, digits and '-', up to 63 characters."
PASTE_INSTEAD = "None: I paste a kubeconfig below"


class ChoicesForm(ServiceErrorsForm):
    """A form whose choices are filled in per organization."""

    def choice_field(self, name: str) -> forms.ChoiceField:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        return field


MODE_CHOICES = [
    (Cluster.Mode.KUBECONFIG.value, "With a kubeconfig: this server connects to the cluster"),
    (Cluster.Mode.AGENT.value, "Through an agent: the cluster connects out to this server"),
]


class ClusterCreateForm(ScopeForm, ChoicesForm):
    """A name and how the cluster is reached: with a kubeconfig (a ``kubernetes`` secret,
    or pasted) or through an agent in the cluster (then what it may receive: its scope)."""

    name = forms.CharField(
        max_length=63,
        help_text=f"Such as dev or prod-eu. {LABEL_HELP}",
        widget=forms.TextInput(attrs=INPUT_ATTRS),
    )
    mode = forms.ChoiceField(
        required=False,  # absent: kubeconfig, as before there was a choice
        choices=MODE_CHOICES,
        initial=Cluster.Mode.KUBECONFIG.value,
        label="How it is reached",
        help_text="An agent needs no kubeconfig here and no network path into the cluster.",
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

    @property
    def is_agent(self) -> bool:
        return self.cleaned_data.get("mode") == Cluster.Mode.AGENT

    def clean_name(self) -> str:
        """The name's rule and whether it is taken, in the same pass as the kubeconfig."""
        name = str(self.cleaned_data.get("name") or "")
        try:
            validate_label(name, "name")
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["name"]) from None
        if Cluster.objects.for_org(self.organization).filter(name=name).exists():
            raise forms.ValidationError(
                f"A cluster named {name!r} already exists in this organization."
            )
        return name

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        chosen, pasted = cleaned.get("secret"), cleaned.get("kubeconfig", "").strip()
        if self.is_agent:
            for name, given in (("secret", chosen), ("kubeconfig", pasted)):
                if given:
                    self.add_error(name, "An agent cluster has no kubeconfig here.")
        elif chosen and pasted:
            self.add_error("secret", "Choose a kubeconfig secret or paste a kubeconfig, not both.")
        elif not chosen and not pasted and "secret" in cleaned:
            self.add_error("kubeconfig", "Paste a kubeconfig, or choose a kubeconfig secret.")
        elif pasted:
            self.check_pasted(pasted, cleaned.get("name"))
        return cleaned

    def check_pasted(self, pasted: str, name: str | None) -> None:
        """What registering would refuse in a pasted kubeconfig, found without asking the
        cluster, and a name whose kubeconfig secret is taken: both beside the other errors."""
        try:
            kube.check_kubeconfig(kubeconfig_text(pasted))
        except ValidationError as exc:
            self.add_error("kubeconfig", exc.messages)
        except kube.KubeRefusedError as exc:
            self.add_error("kubeconfig", exc.message)
        stored = f"{name}-kubeconfig"
        if name and secret_selectors.existing_ids(self.organization, {secret_id_for(stored)}):
            self.add_error(
                "name",
                f"The pasted kubeconfig is kept as the secret {stored!r}, which exists "
                "already: choose it above instead of pasting, or another name.",
            )

    def source(self) -> dict[str, str | None]:
        """``secret_id`` or ``kubeconfig`` for ``cluster_create``: the one that was given."""
        chosen = self.cleaned_data.get("secret") or None
        return {
            "secret_id": chosen,
            "kubeconfig": None if chosen else self.cleaned_data["kubeconfig"],
        }


OVERWRITE_LABEL = "Replace Secrets of the same name that this product does not manage"


class InstallForm(ChoicesForm):
    """Where to install and which secrets: by type, tags and name text (all must match),
    narrowed to the ones ticked in the preview when it was shown."""

    namespace = forms.CharField(
        max_length=63,
        help_text=f"Created when missing; the cluster's namespaces are suggested. {LABEL_HELP}",
        widget=forms.TextInput(attrs={**INPUT_ATTRS, "placeholder": "build", "list": "namespaces"}),
    )
    type = forms.ChoiceField(required=False, label="Of type")
    tags = forms.CharField(
        required=False,
        label="Tagged",
        help_text="Every tag must match. Separated by spaces or commas, such as repo:pipeline.",
        widget=forms.TextInput(attrs={**INPUT_ATTRS, "placeholder": "repo:pipeline"}),
    )
    name = forms.CharField(
        required=False,
        max_length=253,
        label="Name contains",
        widget=forms.TextInput(attrs={**INPUT_ATTRS, "placeholder": "payments", "type": "search"}),
    )
    ids = forms.MultipleChoiceField(
        required=False,
        label="Secrets",
        widget=forms.CheckboxSelectMultiple,
    )
    picked = forms.BooleanField(required=False, widget=forms.HiddenInput)
    ttl = forms.IntegerField(
        required=False,
        label="Remove after (seconds)",
        help_text="Optional. The installed copies are deleted from the cluster after this long.",
        widget=forms.NumberInput(attrs={"min": 1, "placeholder": "3600"}),
    )
    overwrite = forms.BooleanField(required=False, label=OVERWRITE_LABEL)
    field_aliases = {"query.ids": "ids", "query": "type"}

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.choice_field("type").choices = [("", "Any type"), *type_choices()]
        # Ids only: the preview shows the secrets; here they are only checked to be the org's.
        rows = secret_selectors.secret_list(organization=organization).select_related(None)
        self.choice_field("ids").choices = [
            (secret_id, secret_id) for secret_id in rows.values_list("secret_id", flat=True)
        ]

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        if not self.errors and not (
            cleaned.get("type") or cleaned.get("tags") or cleaned.get("name") or cleaned.get("ids")
        ):
            self.add_error(
                "type", "Choose the secrets to install: by type, tags or name, then tick them."
            )
        if not self.errors and cleaned.get("picked") and not cleaned.get("ids"):
            self.add_error("ids", "Tick at least one of the matching secrets.")
        return cleaned

    def matches(self) -> list[Any]:
        """The secrets the filters match (type, tags, name text), by name."""
        data = self.cleaned_data
        return list(
            secret_selectors.secret_list(
                organization=self.organization,
                type=data.get("type") or None,
                tags=split_tags(data.get("tags") or ""),
                name_contains=data.get("name") or None,
            ).select_related(None)
        )

    def query(self) -> InstallQuery:
        """What to install: the ticked secrets that still match the filters, or (without the
        preview) every match of the filters."""
        data = self.cleaned_data
        found = [row.secret_id for row in self.matches()]
        if data.get("picked") or data.get("ids"):
            ticked = set(data.get("ids") or [])
            found = [secret_id for secret_id in found if secret_id in ticked]
        return InstallQuery(ids=found)


MAPPING_HELP = (
    'Optional; one key per line. KEY=field copies a field, KEY="text" sets a text, '
    'KEY={"name": "field", ...} puts those fields as JSON under KEY, KEY=* all of them. '
    "Or the API's spec as a JSON object. Empty: every installable field is a key."
)


def parse_mapping(text: str) -> dict[str, dict[str, Any]] | None:
    """The API's ``spec`` from the mapping box; ValueError naming the line that is wrong."""
    text = text.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            spec = safejson.loads(text)
        except ValueError:
            raise ValueError("Not a valid JSON object.") from None
        if not isinstance(spec, dict):
            raise ValueError("Not a valid JSON object.")
        return spec
    lines: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, rest = line.partition("=")
        key, rest = key.strip(), rest.strip()
        if not sep or not key or not rest:
            raise ValueError(f'Line {number}: write KEY=field, KEY="text", KEY={{...}} or KEY=*.')
        if rest == "*":
            lines[key] = {}
        elif rest.startswith('"'):
            try:
                value = safejson.loads(rest)
            except ValueError:
                raise ValueError(f"Line {number}: the text must be one quoted string.") from None
            lines[key] = {"value": value}
        elif rest.startswith("{"):
            try:
                lines[key] = {"sourceMap": safejson.loads(rest)}
            except ValueError:
                raise ValueError(f"Line {number}: not a valid JSON object.") from None
        else:
            lines[key] = {"source": rest}
    return lines


class InstallOneForm(ChoicesForm):
    """One secret as a named v1.Secret, with an optional key mapping; or merged into one."""

    prefix = "one"
    secret = forms.ChoiceField(label="Secret")
    name = forms.CharField(
        required=False,
        max_length=253,
        label="Kubernetes Secret name",
        help_text="Optional; the secret's name when empty.",
        widget=forms.TextInput(attrs=INPUT_ATTRS),
    )
    namespace = forms.CharField(
        max_length=63,
        help_text=f"Created when missing. {LABEL_HELP}",
        widget=forms.TextInput(attrs={**INPUT_ATTRS, "placeholder": "build"}),
    )
    mapping = forms.CharField(
        required=False,
        strip=False,
        label="Key mapping",
        help_text=MAPPING_HELP,
        widget=forms.Textarea(attrs={**INPUT_ATTRS, "rows": 4, "class": "mono"}),
    )
    merge = forms.BooleanField(
        required=False,
        label="Merge the keys into the existing Secret of that name (keeping its other keys)",
    )
    restart = forms.CharField(
        required=False,
        label="Restart on change",
        help_text="Workloads of the namespace rolled when this Secret's data changes, such as "
        "Deployment/api, StatefulSet/db. Empty keeps the ones recorded.",
        widget=forms.TextInput(attrs={**INPUT_ATTRS, "placeholder": "Deployment/api"}),
    )
    field_aliases = {"secretName": "name", "sourceSecretName": "secret"}

    def field_for(self, key: str) -> str | None:
        if key.split(".")[0] == "workloads":
            return "restart"
        return super().field_for(key)

    def clean_restart(self) -> list[dict[str, str]] | None:
        """``Kind/name`` items, separated by commas; None when empty."""
        text = self.cleaned_data.get("restart") or ""
        items = [item.strip() for item in text.split(",") if item.strip()]
        if not items:
            return None
        workloads = []
        for item in items:
            kind, slash, name = item.partition("/")
            if not slash:
                raise forms.ValidationError(f"{item}: write Kind/name, such as Deployment/api.")
            workloads.append({"kind": kind.strip(), "name": name.strip()})
        return workloads

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        rows = (
            secret_selectors.secret_list(organization=organization)
            .select_related(None)
            .only("name", "type")
        )
        self.choice_field("secret").choices = [(r.name, f"{r.name} ({r.type})") for r in rows]

    def add_service_errors(self, exc: ValidationError) -> None:
        """Errors of the mapping (``spec.KEY``) land on it, naming their key."""
        if hasattr(exc, "error_dict"):
            spec = {k: v for k, v in exc.message_dict.items() if k.split(".")[0] == "spec"}
            for key, messages in spec.items():
                where = key.partition(".")[2]
                for message in messages:
                    self.add_error("mapping", f"{where}: {message}" if where else message)
            rest = {k: v for k, v in exc.message_dict.items() if k not in spec}
            if not rest:
                return
            exc = ValidationError(rest)
        super().add_service_errors(exc)

    def clean_mapping(self) -> dict[str, dict[str, Any]] | None:
        try:
            return parse_mapping(self.cleaned_data.get("mapping") or "")
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def kube_name(self) -> str:
        return str(self.cleaned_data.get("name") or self.cleaned_data["secret"])


class BulkInstallForm(ServiceErrorsForm):
    """Which cluster and namespace the selected secrets are installed into."""

    cluster = forms.TypedChoiceField(label="Cluster", coerce=int)
    namespace = forms.CharField(
        max_length=63,
        help_text="Created when missing. Lowercase letters, digits and '-', up to 63 characters.",
        widget=forms.TextInput(attrs={**INPUT_ATTRS, "placeholder": "build"}),
    )
    overwrite = forms.BooleanField(
        required=False,
        label="Replace Secrets of the same name that this product does not manage",
    )

    def __init__(self, *args: Any, organization: Organization, role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        clusters = cluster_selectors.cluster_list(organization=organization)
        field = self.fields["cluster"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(c.pk, c.name) for c in clusters]
        if not Role.allows(role, Role.ADMIN):
            del self.fields["overwrite"]

    @property
    def has_clusters(self) -> bool:
        field = self.fields["cluster"]
        assert isinstance(field, forms.TypedChoiceField)
        return bool(field.choices)


class NamespaceRuleForm(ServiceErrorsForm):
    """A cluster's namespace rule: allow and deny patterns, separated by spaces or commas.
    ``clusters.namespaces.set_rule`` checks them (errors ``allow.<n>`` land on ``allow``)."""

    allow = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs=INPUT_ATTRS),
        help_text="Namespaces members may use: names or patterns (*, ?). Empty: none.",
    )
    deny = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs=INPUT_ATTRS),
        help_text="Never for members, even when allowed above (admins act anywhere).",
    )

    @staticmethod
    def initial_of(rule: dict[str, list[str]]) -> dict[str, str]:
        return {"allow": " ".join(rule["allow"]), "deny": " ".join(rule["deny"])}

    def patterns(self, name: str) -> list[str]:
        return [p for p in str(self.cleaned_data.get(name) or "").replace(",", " ").split() if p]

    def field_for(self, key: str) -> str | None:
        name = key.split(".")[0]  # allow.2 -> allow
        return name if name in self.fields else None
