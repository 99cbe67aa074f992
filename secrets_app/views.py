"""Dashboard pages for secrets: thin views over ``secrets_app.services`` and ``selectors``.

Secret values are read from Vault for a person only when a member asks: revealing a field
(a POST, recorded as a ``secret.read``); fields that are no secret are shown in clear.
Generated values are shown once, by the page the write redirects to, which reads them from
Vault (they are never stored anywhere else).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect

from orgs.views import OrgView
from pipeline_secrets.core.errors import ConflictError, VaultUnavailableError
from pipeline_secrets.core.web import (
    form_errors,
    is_htmx,
    redirect_to,
    render_page,
    time_context,
)
from secrets_app import history, hooks, schedule, selectors, services
from secrets_app import values as secret_values
from secrets_app.forms import (
    DeleteConfirmForm,
    TagForm,
    env_text,
    type_label,
)
from secrets_app.models import SecretIndex
from secrets_app.types import REGISTRY, SecretType


def requested_type(query: QueryDict) -> SecretType:
    """The type named by ``type`` in ``query``; the registry's first type otherwise."""
    return REGISTRY.get(query.get("type", ""), next(iter(REGISTRY.values())))


@dataclass
class Display:
    """What the detail page shows without a reveal: the stored keys (None when Vault could
    not be read) and the values of the fields safe to display (for roles that read values)."""

    keys: list[str] | None = None
    shown: dict[str, str] = dc_field(default_factory=dict)


def value_row(
    stype: SecretType | None,
    name: str,
    revealed: dict[str, Any] | None,
    display: Display | None = None,
) -> dict[str, Any]:
    """One line of the values table: ``name`` "" stands for all values of a schemaless
    secret whose keys could not be read."""
    spec = next((f for f in stype.fields if f.name == name), None) if stype else None
    display = display or Display()
    row: dict[str, Any] = {
        "name": name,
        "description": spec.page_help if spec else "",
        "revealed": revealed is not None,
        "safe": bool(spec and spec.in_clear),
        "shown": name in display.shown,
        "unset": display.keys is not None and bool(name) and name not in display.keys,
    }
    if name in display.shown:
        row["value"] = display.shown[name]
    if revealed is not None:
        row["value"] = revealed.get(name) if name else None
        row["pairs"] = [] if name else sorted(revealed.items())
    return row


def value_rows(
    stype: SecretType | None,
    field: str = "",
    revealed: dict[str, Any] | None = None,
    display: Display | None = None,
) -> list[dict[str, Any]]:
    if stype and stype.strict:
        names = [f.name for f in stype.fields]
    else:
        names = list(display.keys) if display and display.keys is not None else [""]
    return [value_row(stype, n, revealed if n == field else None, display) for n in names]


def rotation_context(row: SecretIndex, every: str | None = None, error: str = "") -> dict[str, Any]:
    """What the rotation card shows: the schedule (``every`` as typed, when given back with
    an ``error``), its next and last rotation and the last failure."""
    item = selectors.lifecycle_of(row)
    current = schedule.format_every(item.rotate_every) if item and item.rotate_every else ""
    return {
        "lifecycle": item,
        "rotation_every": current if every is None else every,
        "rotation_error": error,
    }


class SecretView(OrgView):
    section = "secrets"

    def get_row(self, secret_id: str) -> SecretIndex:
        return selectors.secret_get(organization=self.organization, secret_id=secret_id)

    def secret_context(
        self,
        row: SecretIndex,
        *,
        field: str = "",
        revealed: dict[str, Any] | None = None,
        display: Display | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """The page's context; of ``revealed`` only the value of ``field`` reaches it."""
        context = self.get_context_data(**extra)
        stype = REGISTRY.get(row.type)
        context["secret"] = row
        context["secret_type"] = stype
        context["type_label"] = type_label(row.type)
        context["may_read_values"] = secret_values.may_read(self.membership, row)
        context["value_rows"] = value_rows(stype, field, revealed, display)
        context.update(time_context())
        for key, value in rotation_context(row).items():
            context.setdefault(key, value)
        return context

    def display(self, row: SecretIndex) -> Display:
        """The keys of the stored values and, for roles that read values, those shown in
        clear (no secrets: not a recorded read). Vault being away leaves the page with its
        metadata only."""
        stype = REGISTRY.get(row.type)
        if stype is not None and stype.strict and not any(f.in_clear for f in stype.fields):
            return Display()
        try:
            found = secret_values.shown_in_clear(standing=self.membership, row=row)
        except VaultUnavailableError:
            return Display()
        return Display(keys=found.keys, shown=found.shown)


# --------------------------------------------------------------------------- create


# A one-time marker in the session (ids, a version and field names, never a value): the
# page a write redirects to shows the values it generated, read from Vault, once.
SHOWN_ONCE = "secrets.shown_once"


def problem_text(exc: Exception) -> str:
    """A refusal as one sentence for a message: the field errors, or the error's detail."""
    if isinstance(exc, ValidationError):
        return " ".join(m for ms in exc.message_dict.values() for m in ms)
    return str(getattr(exc, "detail", "")) or "The change was refused."


def written(
    view: SecretView, row: SecretIndex, generated: dict[str, str], verb: str
) -> HttpResponse:
    """After a write: a redirect to the secret, or (values were generated) to the page that
    shows them once. The values themselves are not kept: that page reads them from Vault."""
    request = view.request
    if not generated:
        messages.success(request, f"{verb} {row.name}.")
        return redirect_to(request, view.org_url("secrets:detail", row.secret_id))
    request.session[SHOWN_ONCE] = {
        "org": view.organization.pk,
        "secret": row.secret_id,
        "version": row.version,
        "fields": sorted(generated),
        "verb": verb,
    }
    return redirect_to(request, view.org_url("secrets:written", row.secret_id))


class WrittenView(SecretView):
    """GET after a write that generated values: those values, read from Vault at the version
    the write made (an audited read), shown once. The marker is consumed here, so a reload
    shows the secret's page with a note instead, and never writes again."""

    policy_actions = {"GET": "secret.values.read"}

    def get(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        secret_values.require(self.membership, "secret.values.read", row)
        marker = request.session.get(SHOWN_ONCE) or {}
        if marker.get("org") != self.organization.pk or marker.get("secret") != secret_id:
            messages.info(
                request,
                f"The generated values of {row.name} were shown once, after the write that "
                "made them. Reveal them below if you need them again (each reveal is recorded "
                "in the activity log).",
            )
            return redirect_to(request, self.org_url("secrets:detail", secret_id))
        del request.session[SHOWN_ONCE]
        fields = [str(f) for f in marker.get("fields", [])]
        document = secret_values.reveal(
            standing=self.membership,
            row=row,
            purpose="generated",
            version=int(marker["version"]),
            fields=fields,
        )
        stored = secret_values.values_of(document)
        generated = {f: str(stored[f]) for f in fields if f in stored}
        context = self.secret_context(
            row, generated=generated, verb=str(marker.get("verb", "Wrote"))
        )
        context["shown_version"] = document.version
        return render_page(request, "secrets_app/created.html", context, private=True)


class SecretDetailView(SecretView):
    """Metadata, tags, the stored keys, the fields safe to display in clear (an audited read,
    for roles that read values) and the others masked until revealed one by one."""

    policy_actions = {"GET": "secret.view"}

    def get(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        context = self.secret_context(
            row, display=self.display(row), tag_form=TagForm(organization=self.organization)
        )
        return render_page(request, "secrets_app/detail.html", context, private=True)


class SecretValueView(SecretView):
    """GET: the field masked. POST (member): the value, read from Vault now, shown once."""

    policy_actions = {"GET": "secret.view", "POST": "secret.values.read"}

    def get(
        self, request: HttpRequest, org_id: int, secret_id: str, field: str = ""
    ) -> HttpResponse:
        row = self.get_row(secret_id)
        if not is_htmx(request):
            return redirect("secrets:detail", org_id=self.organization.pk, secret_id=secret_id)
        context = self.secret_context(row)
        context["vrow"] = {**value_row(context["secret_type"], field, None), "focus": True}
        return render_page(request, "secrets_app/partials/_value.html", context)

    def post(
        self, request: HttpRequest, org_id: int, secret_id: str, field: str = ""
    ) -> HttpResponse:
        row = self.get_row(secret_id)
        revealed = secret_values.read_values(
            standing=self.membership,
            row=row,
            purpose="show",
            audit_read=True,
            fields=[field] if field else None,
        )
        display = self.display(row) if not is_htmx(request) else None
        context = self.secret_context(row, field=field, revealed=revealed, display=display)
        context["vrow"] = {**value_row(context["secret_type"], field, revealed), "focus": True}
        context["tag_form"] = TagForm(organization=self.organization)
        return render_page(
            request,
            "secrets_app/detail.html",
            context,
            partial="secrets_app/partials/_value.html",
            private=True,
        )


class TagView(SecretView):
    """Add or remove one tag; answers the tag editor."""

    policy_actions = {"POST": "secret.tag"}
    http_method_names = ["post"]  # inherits a page's GET, which cannot serve this URL

    def post(self, request: HttpRequest, org_id: int, secret_id: str, action: str) -> HttpResponse:
        form = TagForm(request.POST, organization=self.organization)
        row = self.get_row(secret_id)
        if form.is_valid():
            row = self.change(form, secret_id, action) or row
        if not is_htmx(request):
            for error in form.errors.get("tag", []):
                messages.error(request, str(error))
            return redirect("secrets:detail", org_id=self.organization.pk, secret_id=secret_id)
        if not form.errors:
            form = TagForm(organization=self.organization)
        context = self.secret_context(row, tag_form=form, tag_focus=True)
        return render_page(request, "secrets_app/partials/_tags.html", context)

    def change(self, form: TagForm, secret_id: str, action: str) -> SecretIndex | None:
        change = services.tag_add if action == "add" else services.tag_remove
        try:
            return change(
                actor=self.membership,
                organization=self.organization,
                secret_id=secret_id,
                tag=form.cleaned_data["tag"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        except ConflictError as exc:
            form.add_error("tag", exc.detail)
        return None


class SecretDeleteView(SecretView):
    """GET asks for confirmation, listing the installed copies that go too; POST removes
    every version (and, through the clusters' hooks, the copies). With copies installed the
    secret's name must be typed."""

    policy_actions = {"GET": "secret.delete", "POST": "secret.delete"}
    page = "secrets_app/delete.html"

    def get(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        secret_values.require(self.membership, "secret.delete", row)
        installed = self.installed(row)
        form = DeleteConfirmForm(secret_name=row.name, required=bool(installed))
        return render_page(request, self.page, self.delete_context(row, installed, form))

    def post(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        secret_values.require(self.membership, "secret.delete", row)
        installed = self.installed(row)
        form = DeleteConfirmForm(request.POST, secret_name=row.name, required=bool(installed))
        if not form.is_valid():
            return form_errors(request, self.page, self.delete_context(row, installed, form))
        services.secret_delete(
            actor=self.membership, organization=self.organization, secret_id=secret_id
        )
        messages.success(request, f"Deleted {row.name} and all its versions.")
        return redirect_to(request, self.org_url("secrets:list"))

    def installed(self, row: SecretIndex) -> list[Any]:
        return hooks.installations(organization=self.organization, secret_id=row.secret_id)

    def delete_context(
        self, row: SecretIndex, installed: list[Any], form: DeleteConfirmForm
    ) -> dict[str, Any]:
        clusters = sorted({item.cluster.name for item in installed})
        effect = history.effect_of(
            organization=self.organization, secret_id=row.secret_id, event="secret.deleted"
        )
        return self.secret_context(
            row, installations=installed, clusters=clusters, form=form, effect=effect
        )


class SecretEnvDownloadView(SecretView):
    """POST: the values as a ``.env`` file, read from Vault now (audited), never cached."""

    policy_actions = {"POST": "secret.values.read"}
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        stored = secret_values.read_values(
            standing=self.membership, row=row, purpose="download", audit_read=True
        )
        values = {k: str(v) for k, v in stored.items()}
        response = HttpResponse(env_text(values), content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{row.name}.env"'
        response["Cache-Control"] = "no-store"
        return response
