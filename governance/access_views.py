"""The organization's Access page: ask for temporary access (viewers and members), see one's
grants and requests; admins approve (perhaps for less time), reject and revoke. Thin views
over ``governance.access``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from governance import access
from orgs.models import Role
from orgs.views import OrgView
from pipeline_secrets.core.errors import ConflictError
from pipeline_secrets.core.forms import ServiceErrorsForm
from pipeline_secrets.core.web import render_page
from secrets_app.validation import secret_id_for


class AccessRequestForm(ServiceErrorsForm):
    role = forms.ChoiceField(choices=[(Role.MEMBER, "Member"), (Role.ADMIN, "Admin")])
    secret = forms.CharField(
        max_length=253,
        required=False,
        help_text="A secret's name; leave it and the tag empty to ask for the whole organization.",
    )
    tag = forms.CharField(max_length=access.MAX_TAG, required=False, help_text="e.g. env:staging")
    duration = forms.CharField(
        max_length=16, initial="4h", help_text="From 15m to 7d (units s, m, h, d)."
    )
    reason = forms.CharField(max_length=access.MAX_REASON, widget=forms.Textarea(attrs={"rows": 2}))
    field_aliases = {"secretId": "secret"}


class AccessView(OrgView):
    """One's own grants and requests, the form to ask; for admins the org's pending
    requests and live grants."""

    section = "access"
    policy_actions = {"GET": "access.request", "POST": "access.request"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        return self.access_response()

    def access_response(self, status: int = 200, **extra: Any) -> HttpResponse:
        context = self.get_context_data(**extra)
        context.setdefault("form", AccessRequestForm())
        mine = {"user_id": self.membership.user_id}
        context["may_ask"] = self.membership.role != Role.ADMIN
        context["my_grants"] = access.grant_list(membership=self.membership, live=True).filter(
            **mine
        )
        context["my_requests"] = access.request_list(membership=self.membership).filter(**mine)[:20]
        context["may_decide"] = access.may_decide(self.membership)
        if context["may_decide"]:
            waiting = access.request_list(membership=self.membership, status="pending")
            context["pending"] = [
                (row, access.format_duration(row.duration_seconds))
                for row in waiting.exclude(**mine)
            ]
            context["live_grants"] = access.grant_list(membership=self.membership, live=True)
        return render_page(self.request, "governance/access_page.html", context, status=status)

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        form = AccessRequestForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                access.access_request_create(
                    actor=self.membership,
                    role=data["role"],
                    secret_id=secret_id_for(data["secret"]) if data["secret"] else "",
                    tag=data["tag"],
                    duration=data["duration"],
                    reason=data["reason"],
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Asked; the organization's admins are notified.")
                return redirect(self.org_url("governance:access"))
        return self.access_response(status=400, form=form)


class AccessDecisionView(AccessView):
    http_method_names = ["post"]
    policy_actions = {"POST": "access.decide"}

    def decide(self, object_id: int) -> str:
        """Make the decision on the request (or grant) ``object_id``; what to tell."""
        raise NotImplementedError

    def post(self, request: HttpRequest, org_id: int, **ids: int) -> HttpResponse:  # type: ignore[override]
        try:
            (object_id,) = ids.values()
            done = self.decide(object_id)
        except ValidationError as exc:
            return self.access_response(status=400, error=" ".join(exc.messages))
        except ConflictError as exc:
            return self.access_response(status=409, error=exc.detail)
        messages.success(request, done)
        return redirect(self.org_url("governance:access"))


class AccessApproveView(AccessDecisionView):
    def decide(self, object_id: int) -> str:
        row = access.request_get(membership=self.membership, request_id=object_id)
        grant = access.access_request_approve(
            actor=self.membership,
            access_request=row,
            duration=self.request.POST.get("duration") or None,
        )
        return (
            f"Granted {grant.user.username} {grant.role} until "
            f"{grant.expires_at:%Y-%m-%d %H:%M} UTC."
        )


class AccessRejectView(AccessDecisionView):
    def decide(self, object_id: int) -> str:
        row = access.request_get(membership=self.membership, request_id=object_id)
        access.access_request_reject(actor=self.membership, access_request=row)
        return f"Rejected {row.user.username}'s request."


class AccessRevokeView(AccessDecisionView):
    def decide(self, object_id: int) -> str:
        grant = access.grant_get(membership=self.membership, grant_id=object_id)
        access.access_grant_revoke(actor=self.membership, grant=grant)
        return f"Revoked {grant.user.username}'s {grant.role} access."
