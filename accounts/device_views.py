"""The dashboard's side of a command-line sign-in: the person enters the code the client
shows, chooses the limits of its token, and confirms (or denies)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts import device
from orgs import policy, selectors
from orgs.forms import EXPIRY_CHOICES
from orgs.models import Membership, Role
from orgs.views import AccountView
from pipeline_secrets.core.forms import ServiceErrorsForm
from pipeline_secrets.core.web import render_page


class DeviceConfirmForm(ServiceErrorsForm):
    code = forms.CharField(
        max_length=20,
        label="Code",
        help_text="The code the command line shows, such as BCDF-GHJK.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    organization = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Organization"
    )
    max_role = forms.ChoiceField(
        choices=[("", "My role in each organization"), *Role.choices],
        required=False,
        label="Highest role",
        help_text="Never above your own role in the organization.",
    )
    expires = forms.ChoiceField(
        choices=[c for c in EXPIRY_CHOICES if c[0]] + [("", "Never")],
        required=False,
        initial="30",
        label="Expires",
    )

    def __init__(self, *args: Any, memberships: Iterable[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organization"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "All my organizations")] + [
            (m.organization_id, f"{m.organization.name} ({m.role})") for m in memberships
        ]

    def expires_at(self) -> datetime | None:
        days = self.cleaned_data.get("expires")
        return timezone.now() + timedelta(days=int(days)) if days else None


class DeviceConfirmView(AccountView):
    """``GET``: the form (the code filled in from ``?code=``); ``POST``: confirm or deny."""

    policy_audience = {"GET": policy.SESSION, "POST": policy.SESSION}
    section = "tokens"
    page = "accounts/device.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        form = self.device_form(initial={"code": request.GET.get("code", "")})
        return self.page_response(form)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.device_form(request.POST)
        if not form.is_valid():
            return self.page_response(form, status=400)
        code = form.cleaned_data["code"]
        try:
            if request.POST.get("action") == "deny":
                row = device.device_deny(user_code=code)
                return self.page_response(None, denied=row)
            row = device.device_approve(
                user=self.user,
                user_code=code,
                organization_id=form.cleaned_data["organization"],
                max_role=form.cleaned_data["max_role"],
                expires_at=form.expires_at(),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
            return self.page_response(form, status=400)
        return self.page_response(None, approved=row)

    def device_form(self, data: Any = None, **kwargs: Any) -> DeviceConfirmForm:
        memberships = selectors.organizations_for_user(user=self.user)
        return DeviceConfirmForm(data, memberships=memberships, **kwargs)

    def page_response(
        self, form: DeviceConfirmForm | None, status: int = 200, **extra: Any
    ) -> HttpResponse:
        context = self.get_context_data(form=form, **extra)
        response = render_page(self.request, self.page, context, private=True)
        response.status_code = status
        return response
