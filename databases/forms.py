"""Dashboard forms of dynamic database credentials: a connection, a role, an install.

The forms shape input for the services (``databases.services``, ``roles``, ``installs``)
and ask the services' own checks (``clean_connection``, ``clean_role``) in ``clean``, so
one submission shows every field's problem at once; the services check again when they
write. Service error keys (``tlsMode``, ``defaultTtl``, ``workloads.0.kind``...) land on
the field they name. A root password is never rendered back into a page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from clusters import selectors as cluster_selectors
from databases import roles, services
from databases.models import DatabaseConnection, DatabaseRole
from orgs.models import Organization
from pipeline_secrets.core.forms import ServiceErrorsForm
from secrets_app.forms import INPUT_ATTRS
from secrets_app.types.durations import parse_duration

ENGINE_LABELS = {"postgresql": "PostgreSQL", "mysql": "MySQL / MariaDB"}
TLS_LABELS = {
    "disable": "disable: no TLS (trusted networks only)",
    "require": "require: TLS, certificate not verified",
    "verify-full": "verify-full: TLS, certificate and host name verified",
}
PRESET_LABELS = {
    "read-only": "read-only: SELECT on the schema's tables",
    "read-write": "read-write: SELECT, INSERT, UPDATE, DELETE",
    "owner": "owner: everything on the schema, creating tables included",
    "custom": "custom: my own statements",
}
TTL_HELP = "Seconds, or a duration such as 30m, 1h or 720h (at most 30 days)."
STATEMENTS_HELP = (
    "Custom preset only: one SQL statement per line; {{name}}, {{password}} and "
    "{{expiration}} are filled in by the engine."
)


def text_input(**attrs: Any) -> forms.TextInput:
    return forms.TextInput(attrs={**INPUT_ATTRS, **attrs})


def merge_errors(form: ServiceErrorsForm, exc: ValidationError) -> None:
    """The service's errors on the fields the form did not already find wrong."""
    for key, messages in exc.message_dict.items():
        field = form.field_for(key)
        if field is not None and field in form.errors:
            continue
        worded = [m.replace("maxTtl", "the maximum TTL") for m in messages]
        form.add_service_errors(ValidationError({key: worded}))


def lines(text: str) -> list[str] | None:
    found = [line.strip() for line in text.splitlines() if line.strip()]
    return found or None


class ConnectionForm(ServiceErrorsForm):
    """A database and its root credential (which goes to OpenBao only)."""

    name = forms.CharField(
        max_length=63,
        help_text="Such as orders-db. Letters, digits, '_' and '-'.",
        widget=text_input(),
    )
    engine = forms.ChoiceField(choices=list(ENGINE_LABELS.items()))
    host = forms.CharField(
        max_length=253,
        help_text="A host name or IP address that OpenBao connects to.",
        widget=text_input(placeholder="db.example.com"),
    )
    port = forms.CharField(
        required=False,
        max_length=5,
        help_text="Empty: the engine's usual port (5432, or 3306 for MySQL).",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    database = forms.CharField(max_length=63, widget=text_input(placeholder="app"))
    username = forms.CharField(
        max_length=63,
        label="Root user",
        help_text="A user that may create and drop users and grant them rights.",
        widget=text_input(),
    )
    password = forms.CharField(
        strip=False,
        max_length=1024,
        label="Root password",
        help_text="Sent to OpenBao only, never stored here or shown again. Rotate it "
        "afterwards so that nobody knows it.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
    )
    tls_mode = forms.ChoiceField(
        label="TLS mode", choices=list(TLS_LABELS.items()), initial="require"
    )
    field_aliases = {"tlsMode": "tls_mode"}

    def clean_port(self) -> Any:
        text = (self.cleaned_data.get("port") or "").strip()
        if not text:
            return None
        return int(text) if text.isdigit() else text  # the service says what is wrong

    def connection_input(self) -> services.ConnectionInput:
        data = self.cleaned_data
        return services.ConnectionInput(
            name=data.get("name"),
            engine=data.get("engine"),
            host=data.get("host"),
            port=data.get("port"),
            database=data.get("database"),
            username=data.get("username"),
            password=data.get("password"),
            tls_mode=data.get("tls_mode"),
        )

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        errors: dict[str, list[str]] = {}
        services.clean_connection(self.connection_input(), errors)
        if errors:
            merge_errors(self, ValidationError(errors))
        return cleaned


class RoleForm(ServiceErrorsForm):
    """What a user issued on a connection may do, and how long it lives."""

    prefix = "role"
    name = forms.CharField(
        max_length=63,
        help_text="Such as reader. Letters, digits, '_' and '-'.",
        widget=text_input(),
    )
    preset = forms.ChoiceField(choices=list(PRESET_LABELS.items()), initial="read-only")
    schema = forms.CharField(
        required=False,
        max_length=63,
        help_text="PostgreSQL: the schema the preset grants on; empty: public.",
        widget=text_input(placeholder="public"),
    )
    default_ttl = forms.CharField(
        label="Default TTL", initial="1h", help_text=TTL_HELP, widget=text_input()
    )
    max_ttl = forms.CharField(
        label="Maximum TTL", initial="24h", help_text=TTL_HELP, widget=text_input()
    )
    creation_statements = forms.CharField(
        required=False,
        strip=False,
        help_text=STATEMENTS_HELP,
        widget=forms.Textarea(attrs={**INPUT_ATTRS, "rows": 4, "class": "mono"}),
    )
    revocation_statements = forms.CharField(
        required=False,
        strip=False,
        help_text="Custom preset only, optional: one SQL statement per line, run when a "
        "lease ends (empty: the engine drops the user).",
        widget=forms.Textarea(attrs={**INPUT_ATTRS, "rows": 3, "class": "mono"}),
    )
    field_aliases = {
        "defaultTtl": "default_ttl",
        "maxTtl": "max_ttl",
        "creationStatements": "creation_statements",
        "revocationStatements": "revocation_statements",
    }

    def __init__(self, *args: Any, connection: DatabaseConnection, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection = connection
        if connection.engine == DatabaseConnection.Engine.MYSQL:
            del self.fields["schema"]  # MySQL roles grant on the connection's database

    def ttl(self, field: str) -> int:
        """Seconds from digits or a duration, within what the service allows (checked here
        too: the service compares the two TTLs only when both are in range)."""
        text = (self.cleaned_data.get(field) or "").strip()
        try:
            seconds = int(text) if text.isdigit() else parse_duration(text).total_seconds()
        except ValueError:
            raise forms.ValidationError(TTL_HELP) from None
        if seconds != int(seconds):
            raise forms.ValidationError("Whole seconds only.")
        if not 1 <= seconds <= roles.MAX_TTL:
            raise forms.ValidationError(f"From 1 second to {roles.MAX_TTL // 86400} days.")
        return int(seconds)

    def clean_default_ttl(self) -> Any:
        return self.ttl("default_ttl")

    def clean_max_ttl(self) -> Any:
        return self.ttl("max_ttl")

    def role_input(self) -> roles.RoleInput:
        data = self.cleaned_data
        return roles.RoleInput(
            name=data.get("name"),
            preset=data.get("preset"),
            schema=data.get("schema") or None,
            default_ttl=data.get("default_ttl"),
            max_ttl=data.get("max_ttl"),
            creation_statements=lines(data.get("creation_statements") or ""),
            revocation_statements=lines(data.get("revocation_statements") or ""),
        )

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        given = self.role_input()
        if given.preset == DatabaseRole.Preset.CUSTOM and given.creation_statements is None:
            self.add_error(
                "creation_statements", "The custom preset needs these: one statement a line."
            )
        # A TTL the form refused already says what is wrong; the service compares the two.
        if given.default_ttl is None:
            given.default_ttl = 1
        if given.max_ttl is None:
            given.max_ttl = roles.MAX_TTL
        try:
            roles.clean_role(given, self.connection)
        except ValidationError as exc:
            merge_errors(self, exc)
        return cleaned

    @property
    def is_custom(self) -> bool:
        return self["preset"].value() == DatabaseRole.Preset.CUSTOM


class InstallForm(ServiceErrorsForm):
    """Where a role's credentials are installed: a cluster of the org and a namespace."""

    prefix = "install"
    cluster = forms.ChoiceField()
    namespace = forms.CharField(
        max_length=63,
        help_text="Created when missing. Lowercase letters, digits and '-'.",
        widget=text_input(placeholder="build"),
    )
    workloads = forms.CharField(
        required=False,
        label="Restart on change",
        help_text="Optional: one Kind/name per line, such as Deployment/api; restarted when "
        "the credentials are replaced.",
        widget=forms.Textarea(attrs={**INPUT_ATTRS, "rows": 2, "class": "mono"}),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        clusters = cluster_selectors.cluster_list(organization=organization)
        field = self.fields["cluster"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (str(c.pk), c.name) for c in clusters.select_related(None).only("pk", "name")
        ]

    def field_for(self, key: str) -> str | None:
        if key.split(".")[0] == "workloads":
            return "workloads"
        return super().field_for(key)

    def clean_workloads(self) -> list[dict[str, str]] | None:
        found = lines(self.cleaned_data.get("workloads") or "")
        if found is None:
            return None
        workloads = []
        for item in found:
            kind, slash, name = item.partition("/")
            if not slash:
                raise forms.ValidationError(f"{item}: write Kind/name, such as Deployment/api.")
            workloads.append({"kind": kind.strip(), "name": name.strip()})
        return workloads
