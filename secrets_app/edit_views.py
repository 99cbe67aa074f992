"""The pages that write a new secret: the new-secret form (with its type fields and key/value
rows). The edit form lives in ``secrets_app.edit_secret_views``, the other secret pages in
``secrets_app.views``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import push_url

from pipeline_secrets.core.errors import ConflictError
from pipeline_secrets.core.web import (
    form_errors,
    is_htmx,
    render_page,
)
from secrets_app import services
from secrets_app import values as secret_values
from secrets_app.forms import (
    SecretCreateForm,
    ServiceErrorsMixin,
    ValueControlsMixin,
)
from secrets_app.types import Context
from secrets_app.views import SecretView, requested_type, written


class SecretCreateView(SecretView):
    """Pick a type; its fields come from the registry; generated values are shown once."""

    policy_actions = {"GET": "secret.values.write", "POST": "secret.values.write"}
    page = "secrets_app/create.html"

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        stype = requested_type(request.GET)
        form = SecretCreateForm(organization=self.organization, secret_type=stype)
        return render_page(request, self.page, self.get_context_data(form=form))

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        stype = requested_type(request.POST)
        form = SecretCreateForm(
            request.POST, request.FILES, organization=self.organization, secret_type=stype
        )
        secret_values.require_write(self.membership, stype, self.organization)
        form.is_valid()
        values = form.values()
        if not form.errors:
            return self.create(form, values)
        check_values(form, values)
        return form_errors(request, self.page, self.get_context_data(form=form))

    def create(self, form: SecretCreateForm, values: dict[str, str]) -> HttpResponse:
        try:
            result = services.secret_create(
                actor=self.membership,
                organization=self.organization,
                name=form.cleaned_data["name"],
                type=form.secret_type.name,
                values=values,
                tags=form.tag_list(),
                ctx=Context(
                    verify_remote=form.cleaned_data["verify"],
                    password_specs=form.generates_password,
                ),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
            check_values(form, values)
        except ConflictError as exc:
            form.add_error("name", exc.detail)
            check_values(form, values)
        if form.errors:
            context = self.get_context_data(form=form)
            return form_errors(self.request, self.page, context)
        return written(self, result.row, result.generated, "Created")


def check_values(form: ValueControlsMixin, values: dict[str, str]) -> None:
    """Add the type's verdict on ``values`` to a form that has other errors, so that one
    submit names every problem. Nothing is written and no provider is asked. Values already
    marked, or a refused key file (whose fields would all read "required"), are not checked
    again."""
    if form.key_file_failed() or any(key.startswith(("v_", "pair_")) for key in form.errors):
        return
    ctx = Context(verify_remote=False, password_specs=form.generates_password)
    try:
        form.secret_type.clean(values, ctx)
    except ValidationError as exc:
        form.add_service_errors(exc)


class SecretTypeFieldsView(SecretView):
    """The create form's fields for one type, swapped in when the type changes."""

    policy_actions = {"GET": "secret.values.write"}

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

    policy_actions = {"GET": "secret.values.write"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        try:
            index = min(int(request.GET.get("i", "0")), 999)
        except ValueError:
            index = 0
        form = ServiceErrorsMixin()
        form.add_pairs([index])
        context = self.get_context_data(row=form.pair_rows()[0], next_index=index + 1)
        return render_page(request, "secrets_app/partials/_pair_row.html", context)
