"""Share link pages: the "Share once" panel on a secret's page, and the public page a link
opens, outside any organization (no chrome, no value until "Reveal" is clicked, so that
link previewers, which only GET, cannot use it up)."""

from __future__ import annotations

import json
from typing import Any

from allauth.account.adapter import get_adapter
from django import forms
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from governance import sharing
from governance.api.sharing import site_base
from orgs import policy
from orgs.views import OrgView
from pipeline_secrets.core.errors import AppError
from pipeline_secrets.core.problems import problem_response
from pipeline_secrets.core.web import is_htmx, render_page, time_context
from secrets_app import selectors as secret_selectors
from secrets_app import values
from secrets_app.models import SecretIndex

TTL_CHOICES = [
    ("30m", "30 minutes"),
    ("1h", "1 hour"),
    ("4h", "4 hours"),
    ("1d", "1 day"),
    ("7d", "7 days"),
]


class ShareForm(forms.Form):
    share_fields = forms.MultipleChoiceField(
        label="Fields",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every field.",
    )
    ttl = forms.ChoiceField(label="Expires after", choices=TTL_CHOICES, initial="1h")

    def __init__(self, *args: Any, keys: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        chosen = self.fields["share_fields"]
        assert isinstance(chosen, forms.MultipleChoiceField)
        chosen.choices = [(k, k) for k in keys]


class SharePanel(OrgView):
    """The "Share once" panel of a secret's page: the form, the link just made (in this
    answer only, never stored nor cached) and the secret's links with their state."""

    template = "governance/sharing_panel.html"

    def secret(self, secret_id: str) -> SecretIndex:
        row = secret_selectors.secret_get(organization=self.organization, secret_id=secret_id)
        sharing.require_may_share(self.membership, row)
        return row

    def panel(
        self, row: SecretIndex, form: ShareForm | None = None, *, status: int = 200, url: str = ""
    ) -> HttpResponse:
        links = sharing.share_list(
            actor=self.membership, organization=self.organization, secret_id=row.secret_id
        )
        clock = time_context()
        context = self.get_context_data(
            **clock,
            secret=row,
            form=form or ShareForm(keys=values.value_keys(row=row)),
            url=url,
            links=[(link, sharing.status_of(link, clock["now"])) for link in links[:10]],
        )
        return render_page(self.request, self.template, context, status=status, private=True)


class SharePanelView(SharePanel):
    policy_actions = {"GET": "secret.share", "POST": "secret.share"}

    def get(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        return self.panel(self.secret(secret_id))

    def post(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.secret(secret_id)
        keys = values.value_keys(row=row)
        form = ShareForm(request.POST, keys=keys)
        # htmx swaps only 2xx answers: the panel with its errors is one.
        refused = 200 if is_htmx(request) else 400
        if not form.is_valid():
            return self.panel(row, form, status=refused)
        try:
            shared = sharing.share_create(
                actor=self.membership,
                row=row,
                fields=form.cleaned_data["share_fields"],
                ttl=sharing.parse_ttl(form.cleaned_data["ttl"]),
                now=timezone.now(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.panel(row, form, status=refused)
        url = sharing.link_url(site_base(request), shared)
        return self.panel(row, ShareForm(keys=keys), url=url)


class ShareRevokeView(SharePanel):
    """Revoke a link from its secret's panel (its creator or an admin), answering the
    panel."""

    policy_actions = {"POST": "secret.share"}
    http_method_names = ["post", "options"]

    def post(self, request: HttpRequest, org_id: int, link_id: str) -> HttpResponse:
        link = sharing.share_revoke(
            actor=self.membership,
            organization=self.organization,
            link_id=link_id,
            now=timezone.now(),
        )
        return self.panel(self.secret(link.secret_id))


# --------------------------------------------------------------------------- the public page


def opener_ip(request: HttpRequest) -> str | None:
    """The opener's address, as sign-in rate limits see it (``TRUSTED_PROXY_COUNT``)."""
    try:
        return str(get_adapter(request).get_client_ip(request)) or None
    except (PermissionDenied, ImproperlyConfigured):
        return None


def given_token(request: HttpRequest) -> str:
    """The wrapping token a reveal sends, in a form field or a JSON body (``token``)."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return ""
        token = body.get("token") if isinstance(body, dict) else None
        return token if isinstance(token, str) else ""
    return str(request.POST.get("token", ""))


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def private(response: HttpResponse) -> HttpResponse:
    """Nothing of the page goes to search engines, Referer headers or caches."""
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    return response


@method_decorator(csrf_exempt, name="dispatch")
class ShareOpenView(View):
    """``GET``: the page with the "Reveal" button (or why the link holds nothing any more:
    410); ``POST`` with the token: the values, once (JSON when asked for). Exempt from CSRF:
    the token in the body is the whole authority, no cookie is."""

    policy_audience = {"GET": policy.PUBLIC, "POST": policy.PUBLIC}
    template = "governance/sharing_open.html"

    def get(self, request: HttpRequest, link_id: str) -> HttpResponse:
        try:
            sharing.require_open(sharing.public_link(link_id), timezone.now())
        except AppError as exc:
            return self.failed(request, exc)
        return private(render(request, self.template, {"state": "ready"}))

    def post(self, request: HttpRequest, link_id: str) -> HttpResponse:
        try:
            shared = sharing.share_open(
                link_id=link_id,
                token=given_token(request),
                ip=opener_ip(request),
                now=timezone.now(),
            )
        except AppError as exc:
            return self.failed(request, exc)
        if wants_json(request):
            return private(JsonResponse(shared))
        fields = sorted((shared.get("values") or {}).items())
        context = {"state": "revealed", "shared": shared, "fields": fields}
        return private(render(request, self.template, context))

    def failed(self, request: HttpRequest, exc: AppError) -> HttpResponse:
        if wants_json(request):
            return private(problem_response(exc.status, exc.detail, title=exc.title))
        context = {"state": "failed", "detail": exc.detail}
        return private(render(request, self.template, context, status=exc.status))
