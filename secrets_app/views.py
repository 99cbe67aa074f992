"""Dashboard pages for secrets: thin views over ``secrets_app.services`` and ``selectors``.

Values are read from Vault only when a member asks: revealing a field (a POST) or opening
the edit form. Generated values are shown once, in the answer to the write that made them,
and are never stored anywhere else.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import push_url

from orgs.models import Role
from orgs.views import OrgView
from pipeline_secrets.core.errors import ConflictError
from pipeline_secrets.core.web import (
    form_errors,
    is_htmx,
    redirect_to,
    render_page,
    time_context,
    wants_partial,
)
from secrets_app import schedule, selectors, services
from secrets_app.api.serializers import lifecycle_of
from secrets_app.forms import (
    SecretCreateForm,
    SecretEditForm,
    SecretFilters,
    ServiceErrorsMixin,
    TagForm,
)
from secrets_app.models import SecretIndex
from secrets_app.permissions import require_values_role
from secrets_app.types import REGISTRY, Context, SecretType, get_type

PAGE_SIZE = 50


def requested_type(query: QueryDict) -> SecretType:
    """The type named by ``type`` in ``query``; the registry's first type otherwise."""
    return REGISTRY.get(query.get("type", ""), next(iter(REGISTRY.values())))


def value_row(
    stype: SecretType | None, name: str, revealed: dict[str, Any] | None
) -> dict[str, Any]:
    """One line of the values table: ``name`` "" stands for all values of a schemaless type."""
    spec = next((f for f in stype.fields if f.name == name), None) if stype else None
    row: dict[str, Any] = {
        "name": name,
        "description": spec.description if spec else "",
        "revealed": revealed is not None,
    }
    if revealed is not None:
        row["value"] = revealed.get(name) if name else None
        row["pairs"] = [] if name else sorted(revealed.items())
    return row


def value_rows(
    stype: SecretType | None, field: str = "", revealed: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    names = [f.name for f in stype.fields] if stype and stype.strict else [""]
    return [value_row(stype, n, revealed if n == field else None) for n in names]


def rotation_context(row: SecretIndex, every: str | None = None, error: str = "") -> dict[str, Any]:
    """What the rotation card shows: the schedule (``every`` as typed, when given back with
    an ``error``), its next and last rotation and the last failure."""
    item = lifecycle_of(row)
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
        **extra: Any,
    ) -> dict[str, Any]:
        """The page's context; of ``revealed`` only the value of ``field`` reaches it."""
        context = self.get_context_data(**extra)
        stype = REGISTRY.get(row.type)
        context["secret"] = row
        context["secret_type"] = stype
        context["value_rows"] = value_rows(stype, field, revealed)
        context.update(time_context())
        for key, value in rotation_context(row).items():
            context.setdefault(key, value)
        return context


# --------------------------------------------------------------------------- list


class SecretListView(SecretView):
    """Filter by type, tags and name; 50 a page; a constant number of queries."""

    page = "secrets_app/list.html"
    partial = "secrets_app/partials/_results.html"

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        filters = SecretFilters.from_query(request.GET)
        rows = selectors.secret_list(
            organization=self.organization,
            type=filters.type or None,
            tags=filters.tags,
            name_contains=filters.q or None,
        )
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        tags = selectors.tag_list(organization=self.organization)
        context = self.get_context_data(
            page_obj=page,
            filters=filters,
            types=list(REGISTRY),
            available_tags=[t for t in tags if t not in filters.tags],
            has_tags=bool(tags),
            active_tags=[(t, filters.without_tag(t)) for t in filters.tags],
            tag_prefix=filters.prefix("tag"),
            type_prefix=filters.prefix("type", type=""),
            page_prefix=filters.prefix("page"),
            **time_context(),
            oob=wants_partial(request),
        )
        return render_page(request, self.page, context, partial=self.partial)


# --------------------------------------------------------------------------- create


class SecretCreateView(SecretView):
    """Pick a type; its fields come from the registry; generated values are shown once."""

    required_role = Role.MEMBER
    page = "secrets_app/create.html"

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        stype = requested_type(request.GET)
        form = SecretCreateForm(organization=self.organization, secret_type=stype)
        return render_page(request, self.page, self.get_context_data(form=form, types=REGISTRY))

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        stype = requested_type(request.POST)
        form = SecretCreateForm(request.POST, organization=self.organization, secret_type=stype)
        require_values_role(self.membership, stype.name)
        if form.is_valid():
            values = form.values()
            if not form.errors:
                return self.create(form, values)
        return form_errors(request, self.page, self.get_context_data(form=form, types=REGISTRY))

    def create(self, form: SecretCreateForm, values: dict[str, str]) -> HttpResponse:
        try:
            result = services.secret_create(
                actor=self.user,
                organization=self.organization,
                name=form.cleaned_data["name"],
                type=form.secret_type.name,
                values=values,
                tags=form.tag_list(),
                ctx=Context(verify_remote=form.cleaned_data["verify"]),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        except ConflictError as exc:
            form.add_error("name", exc.detail)
        if form.errors:
            context = self.get_context_data(form=form, types=REGISTRY)
            return form_errors(self.request, self.page, context)
        return written(self, result.row, result.generated, "Created")


def written(
    view: SecretView, row: SecretIndex, generated: dict[str, str], verb: str
) -> HttpResponse:
    """After a write: the generated values once, or straight to the secret."""
    detail = reverse("secrets:detail", args=[view.organization.pk, row.secret_id])
    if not generated:
        messages.success(view.request, f"{verb} {row.name}.")
        return redirect_to(view.request, detail)
    context = view.secret_context(row, generated=generated, verb=verb)
    response = render_page(
        view.request,
        "secrets_app/created.html",
        context,
        partial="secrets_app/partials/_created.html",
        private=True,
    )
    return push_url(response, detail) if is_htmx(view.request) else response


class SecretTypeFieldsView(SecretView):
    """The create form's fields for one type, swapped in when the type changes."""

    required_role = Role.MEMBER

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        stype = requested_type(request.GET)
        url = f"{self.org_url('secrets:create')}?type={stype.name}"
        if not is_htmx(request):
            return redirect(url)
        form = SecretCreateForm(organization=self.organization, secret_type=stype)
        context = self.get_context_data(form=form)
        response = render_page(request, "secrets_app/partials/_type_fields.html", context)
        return push_url(response, url)


class PairRowView(SecretView):
    """One more key/value row for a type without a schema."""

    required_role = Role.MEMBER

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        try:
            index = min(int(request.GET.get("i", "0")), 999)
        except ValueError:
            index = 0
        form = ServiceErrorsMixin()
        form.add_pairs([index])
        context = self.get_context_data(row=form.pair_rows()[0], next_index=index + 1)
        return render_page(request, "secrets_app/partials/_pair_row.html", context)


# --------------------------------------------------------------------------- one secret


class SecretDetailView(SecretView):
    """Metadata, masked values, tags. Nothing is read from Vault to show this page."""

    def get(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        context = self.secret_context(row, tag_form=TagForm(organization=self.organization))
        return render_page(request, "secrets_app/detail.html", context)


class SecretValueView(SecretView):
    """GET: the field masked. POST (member): the value, read from Vault now, shown once."""

    def get(
        self, request: HttpRequest, org_id: int, secret_id: str, field: str = ""
    ) -> HttpResponse:
        row = self.get_row(secret_id)
        if not is_htmx(request):
            return redirect("secrets:detail", org_id=self.organization.pk, secret_id=secret_id)
        context = self.secret_context(row)
        context["vrow"] = value_row(context["secret_type"], field, None)
        return render_page(request, "secrets_app/partials/_value.html", context)

    def post(
        self, request: HttpRequest, org_id: int, secret_id: str, field: str = ""
    ) -> HttpResponse:
        row = self.get_row(secret_id)
        require_values_role(self.membership, row.type)
        document = services.secret_reveal(
            actor=self.user, row=row, fields=[field] if field else None
        )
        revealed = dict(document.data.get("values") or {})
        context = self.secret_context(row, field=field, revealed=revealed)
        context["vrow"] = value_row(context["secret_type"], field, revealed)
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

    required_role = Role.MEMBER
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
        context = self.secret_context(row, tag_form=form)
        return render_page(request, "secrets_app/partials/_tags.html", context)

    def change(self, form: TagForm, secret_id: str, action: str) -> SecretIndex | None:
        change = services.tag_add if action == "add" else services.tag_remove
        try:
            return change(
                actor=self.user,
                organization=self.organization,
                secret_id=secret_id,
                tag=form.cleaned_data["tag"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        except ConflictError as exc:
            form.add_error("tag", exc.detail)
        return None


class SecretEditView(SecretView):
    """New values: empty secret fields keep theirs; the same validation as creating."""

    required_role = Role.MEMBER
    page = "secrets_app/edit.html"

    def get(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        require_values_role(self.membership, row.type)
        form = self.make_form(row, initial={"version": row.version, "verify": True})
        return render_page(request, self.page, self.secret_context(row, form=form), private=True)

    def post(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        require_values_role(self.membership, row.type)
        form = self.make_form(row, data=request.POST)
        if form.is_valid():
            values = form.values()
            if not form.errors:
                try:
                    return self.update(row, form, values)
                except ValidationError as exc:
                    form.add_service_errors(exc)
                except ConflictError as exc:
                    form.add_error(None, exc.detail)
        return form_errors(request, self.page, self.secret_context(row, form=form))

    def make_form(self, row: SecretIndex, **kwargs: Any) -> SecretEditForm:
        # The form starts from the stored values: an audited read, like revealing them.
        document = services.secret_reveal(actor=self.user, row=row, purpose="edit")
        return SecretEditForm(
            organization=self.organization,
            secret_type=get_type(row.type),
            current=dict(document.data.get("values") or {}),
            **kwargs,
        )

    def update(self, row: SecretIndex, form: SecretEditForm, values: dict[str, str]):
        result = services.secret_update(
            actor=self.user,
            organization=self.organization,
            secret_id=row.secret_id,
            values=values,
            tags=list(row.tags),
            expected_version=form.cleaned_data["version"],
            ctx=Context(verify_remote=form.cleaned_data["verify"]),
        )
        return written(self, result.row, result.generated, "Updated")


class SecretDeleteView(SecretView):
    """GET asks for confirmation; POST removes every version."""

    required_role = Role.MEMBER

    def get(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        require_values_role(self.membership, row.type)
        return render_page(request, "secrets_app/delete.html", self.secret_context(row))

    def post(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        require_values_role(self.membership, row.type)
        services.secret_delete(actor=self.user, organization=self.organization, secret_id=secret_id)
        messages.success(request, f"Deleted {row.name} and all its versions.")
        return redirect_to(request, self.org_url("secrets:list"))
