"""The edit form of a stored secret and the reveal of one value in it.

Opening the form shows what is stored without recording a read: the fields that are no
secret in clear, the others masked (their values are read to merge the edit, never put on
the page). Revealing one value in place is a ``secret.read`` naming that field; saving
records the write only.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from pipeline_secrets.core.errors import ConflictError, NotFoundError
from pipeline_secrets.core.web import form_errors, is_htmx, render_page
from secrets_app import services
from secrets_app import values as secret_values
from secrets_app.edit_views import check_values
from secrets_app.forms import SecretEditForm
from secrets_app.models import SecretIndex
from secrets_app.types import Context, get_type
from secrets_app.views import SecretView, written

PAGE = "secrets_app/edit.html"
STALE = (
    "Someone saved this secret while you edited it: {detail} Open the form again to start "
    "from the current values (what you typed here is not saved)."
)


class SecretEditView(SecretView):
    """New values, starting from what is stored; the same validation as creating."""

    policy_actions = {"GET": "secret.values.write", "POST": "secret.values.write"}

    def get(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        form = make_form(self, row, initial={"version": row.version, "verify": True})
        return render_page(request, PAGE, self.secret_context(row, form=form), private=True)

    def post(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        form = make_form(self, row, data=request.POST, files=request.FILES)
        form.is_valid()
        values = form.values()
        if not form.errors:
            try:
                return self.update(row, form, values)
            except ValidationError as exc:
                form.add_service_errors(exc)
            except ConflictError as exc:
                form.add_error(None, STALE.format(detail=exc.detail))
        check_values(form, values)
        return form_errors(request, PAGE, self.secret_context(row, form=form))

    def update(
        self, row: SecretIndex, form: SecretEditForm, values: dict[str, str]
    ) -> HttpResponse:
        result = services.secret_update(
            actor=self.membership,
            organization=self.organization,
            secret_id=row.secret_id,
            values=values,
            tags=list(row.tags),
            expected_version=form.cleaned_data["version"],
            ctx=Context(
                verify_remote=form.cleaned_data["verify"],
                password_specs=form.generates_password,
            ),
        )
        return written(self, result.row, result.generated, "Updated")


class EditRevealView(SecretView):
    """POST: one stored value put into its input on the edit form (read from Vault now, an
    audited ``secret.read`` of that field). htmx swaps the field; without JavaScript the
    form is posted here and comes back whole, with what was typed and the value shown."""

    policy_actions = {"POST": "secret.values.read"}
    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, secret_id: str, field: str) -> HttpResponse:
        row = self.get_row(secret_id)
        secret_values.require(self.membership, "secret.values.read", row)
        stype = get_type(row.type)
        if stype.strict and field not in stype.field_names():
            raise NotFoundError(f"A {row.type} secret has no field {field}.")
        current = secret_values.read_values(
            standing=self.membership, row=row, purpose="edit", audit_read=True, fields=[field]
        )
        if field not in current:
            raise NotFoundError(f"No value is stored for {field}.")
        if not is_htmx(request):
            form = make_form(self, row, current, data=request.POST, revealed=[field])
            return render_page(request, PAGE, self.secret_context(row, form=form), private=True)
        form = make_form(self, row, current, revealed=[field])
        if field != form.controlled:
            form.fields[f"v_{field}"].widget.attrs["data-focus"] = True
        context = self.secret_context(row, form=form, edit_row=form.row_for(field), focus=True)
        if field == form.controlled:
            partial = "secrets_app/partials/_current_password.html"
        elif stype.strict:
            partial = "secrets_app/partials/_edit_field.html"
        else:
            partial = "secrets_app/partials/_key_row.html"
        return render_page(request, partial, context, private=True)


def make_form(
    view: SecretView,
    row: SecretIndex,
    current: dict[str, Any] | None = None,
    **kwargs: Any,
) -> SecretEditForm:
    """The edit form over the stored values: read to merge the edit and to show what is no
    secret, not shown to anyone, so not a recorded read."""
    if current is None:
        current = secret_values.read_values(standing=view.membership, row=row, purpose="edit")
    return SecretEditForm(
        organization=view.organization,
        secret_type=get_type(row.type),
        current=current,
        **kwargs,
    )
