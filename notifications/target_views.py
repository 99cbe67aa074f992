"""Editing a notification target, sending it a test, and a delivery's state (the result of
a test, which the worker sends): thin views over ``notifications.services``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from notifications import services as notifications
from notifications.forms import NotificationTargetEditForm
from notifications.models import NotificationTarget
from notifications.views import POLL, POLLS, NotificationsBase
from pipeline_secrets.core.web import render_page


class NotificationTargetEditView(NotificationsBase):
    """GET: the target's form, filled; POST: change it (a new signing secret is shown once
    by the list the POST redirects to)."""

    page = "notifications/edit.html"

    def get(self, request: HttpRequest, org_id: int, target_id: int) -> HttpResponse:
        target = self.target(target_id)
        return self.form_page(target, NotificationTargetEditForm(target=target))

    def post(self, request: HttpRequest, org_id: int, target_id: int) -> HttpResponse:
        target = self.target(target_id)
        form = NotificationTargetEditForm(request.POST, target=target)
        if form.is_valid():
            try:
                saved, raw = notifications.target_update(
                    actor=self.user,
                    organization=self.organization,
                    target_id=target.pk,
                    **form.target_arguments(),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                shown = saved.pk if raw is not None else None
                return self.done(f"Saved {saved.name}.", show_secret_of=shown)
        return self.form_page(target, form)

    def target(self, target_id: int) -> NotificationTarget:
        return notifications.target_get(organization=self.organization, target_id=target_id)

    def form_page(
        self, target: NotificationTarget, form: NotificationTargetEditForm
    ) -> HttpResponse:
        context = self.get_context_data(target=target, form=form)
        return render_page(self.request, self.page, context)


class NotificationTargetTestView(NotificationsBase):
    """POST: record a ``test`` notification for the target and queue the worker; the list
    it redirects to shows how sending it went once the worker has sent it."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, org_id: int, target_id: int) -> HttpResponse:
        delivery = notifications.target_test(
            actor=self.user, organization=self.organization, target_id=target_id
        )
        notice = f"Test queued for {delivery.target.name}: the worker sends it now."
        return self.done(notice, query=f"?test={delivery.pk}#test-result")


class NotificationDeliveryView(NotificationsBase):
    """GET: one delivery's state (the result card of a test; htmx asks again while it is on
    its way, ``POLLS`` times at most: then the card asks whether the worker runs)."""

    page = "notifications/delivery.html"
    partial = "notifications/partials/_delivery_result.html"

    def get(self, request: HttpRequest, org_id: int, delivery_id: int) -> HttpResponse:
        delivery = notifications.delivery_get(
            organization=self.organization, delivery_id=delivery_id
        )
        asked = self.request.GET.get("asked", "")
        count = int(asked) if asked.isdigit() and len(asked) < 6 else 0
        context = self.get_context_data(d=delivery, poll=POLL, asked=count, given_up=count >= POLLS)
        return render_page(request, self.page, context, partial=self.partial)
