"""The organization's Notifications page (admins): targets added and removed, the delivery
log. Thin views over ``notifications.services``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from notifications import services as notifications
from notifications.forms import NotificationTargetForm
from orgs.views import OrgView
from pipeline_secrets.core.web import is_htmx, render_page, time_context

DELIVERY_PAGE = 50


class NotificationsView(OrgView):
    section = "notifications"
    policy_actions = {"GET": "notification.manage", "POST": "notification.manage"}
    page = "notifications/notifications.html"
    partial = "notifications/partials/_notifications.html"

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        return self.notifications_response()

    def notifications_response(self, **extra: Any) -> HttpResponse:
        context = self.get_context_data(**extra)
        context.update(time_context())
        context.setdefault("form", NotificationTargetForm())
        context["targets"] = notifications.target_list(organization=self.organization)
        context["deliveries"] = notifications.delivery_list(organization=self.organization)[
            :DELIVERY_PAGE
        ]
        private = "signing_secret" in extra
        return render_page(self.request, self.page, context, partial=self.partial, private=private)

    def done(self, notice: str) -> HttpResponse:
        if is_htmx(self.request):
            return self.notifications_response(notice=notice)
        messages.success(self.request, notice)
        return redirect(self.org_url("notifications:list"))


class NotificationTargetAddView(NotificationsView):
    http_method_names = ["post"]  # inherits a page's GET, which cannot serve this URL

    def post(self, request: HttpRequest, org_id: int) -> HttpResponse:
        form = NotificationTargetForm(request.POST)
        if form.is_valid():
            try:
                target, raw = notifications.target_create(
                    actor=self.user, organization=self.organization, **form.target_arguments()
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                notice = f"Added {target.name}."
                if raw is None:
                    return self.done(notice)
                # A webhook's signing secret is shown in this answer only.
                return self.notifications_response(
                    notice=notice, new_target=target, signing_secret=raw
                )
        return self.notifications_response(form=form)


class NotificationTargetRemoveView(NotificationsView):
    http_method_names = ["post"]  # inherits a page's GET, which cannot serve this URL

    def post(self, request: HttpRequest, org_id: int, target_id: int) -> HttpResponse:
        target = notifications.target_get(organization=self.organization, target_id=target_id)
        notifications.target_delete(
            actor=self.user, organization=self.organization, target_id=target.pk
        )
        return self.done(f"Removed {target.name} and its delivery log.")
