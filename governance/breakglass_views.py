"""Break-glass pages: the offer on a secret's page (for those whose role does not read its
values, when the organization allows it), the reveal itself, and the admins' list of
break-glass events with their acknowledgement. Thin views over ``governance.breakglass``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from governance import breakglass
from orgs import policy
from orgs.views import OrgView
from pipeline_secrets.core.errors import ConflictError
from pipeline_secrets.core.web import render_page, time_context, wants_partial
from secrets_app.models import SecretIndex
from secrets_app.views import SecretView


class BreakGlassForm(forms.Form):
    justification = forms.CharField(
        min_length=breakglass.JUSTIFICATION_MIN,
        max_length=breakglass.JUSTIFICATION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why you need these values now. Every admin reads it at once.",
    )


class BreakGlassRevealView(SecretView):
    """GET: the offer (the secret page loads it as a panel: empty when there is none).
    POST: the values, once, on a page no cache keeps; the reveal is flagged."""

    policy_actions = {"GET": "breakglass.reveal", "POST": "breakglass.reveal"}
    page = "governance/breakglass_reveal.html"
    panel = "governance/breakglass_panel.html"

    def get(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        return self.respond(self.get_row(secret_id), BreakGlassForm())

    def post(self, request: HttpRequest, org_id: int, secret_id: str) -> HttpResponse:
        row = self.get_row(secret_id)
        form = BreakGlassForm(request.POST)
        if not form.is_valid():
            return self.respond(row, form, status=400)
        try:
            revealed = breakglass.reveal(
                membership=self.membership,
                row=row,
                justification=form.cleaned_data["justification"],
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
            return self.respond(row, form, status=400)
        except (PermissionDenied, ConflictError) as exc:
            status = 409 if isinstance(exc, ConflictError) else 403
            return self.respond(row, form, status=status, refusal=str(exc))
        context = self.secret_context(row, event=revealed.event, version=revealed.version)
        context["revealed_values"] = sorted(revealed.values.items())
        return render_page(request, self.page, context, private=True)

    def respond(
        self, row: SecretIndex, form: BreakGlassForm, *, status: int = 200, **extra: Any
    ) -> HttpResponse:
        context = self.secret_context(row, form=form, **extra)
        context["reads_values"] = breakglass.own_role_reads(self.membership, row)
        context["allowed"] = breakglass.allowed(self.organization)
        context["offer"] = context["allowed"] and not context["reads_values"]
        page = self.panel if wants_partial(self.request) else self.page
        return render_page(self.request, page, context, status=status)


class BreakGlassListView(OrgView):
    """The organization's break-glass events (admins): the flagged ones first to act on."""

    section = "activity"
    policy_actions = {"GET": "activity.view"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        events = breakglass.event_list(organization=self.organization)[:200]
        context = self.get_context_data(
            events=events,
            flagged=[e for e in events if e.acknowledged_at is None],
            may_acknowledge=policy.allows(self.membership, "breakglass.acknowledge"),
        )
        context.update(time_context())
        return render_page(request, "governance/breakglass_list.html", context)


class BreakGlassAcknowledgeView(OrgView):
    policy_actions = {"POST": "breakglass.acknowledge"}
    http_method_names = ["post"]  # inherits a page's GET, which cannot serve this URL

    def post(self, request: HttpRequest, org_id: int, breakglass_id: int) -> HttpResponse:
        event = breakglass.acknowledge(membership=self.membership, event_id=breakglass_id)
        messages.success(
            request,
            f"Acknowledged {event.username}'s break-glass on {event.secret_name}.",
        )
        return redirect(self.org_url("governance:breakglass-list"))
