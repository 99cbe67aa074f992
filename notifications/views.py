"""The organization's Notifications page (admins): targets added and removed, the delivery
log. Thin views over ``notifications.services``; editing and test sends are in
``notifications.target_views``.

Every POST that succeeds answers a redirect (post/redirect/get): a reload repeats nothing. A
webhook's signing secret, made by an add or an edit, is shown by the GET that follows: the
POST leaves a one-time marker (org and target ids, never the secret) in the session, and
that GET consumes it and decrypts the secret from the target (``no-store``); a reload shows
it no more."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from notifications import services as notifications
from notifications.forms import NotificationTargetForm
from notifications.models import NotificationDelivery, NotificationTarget
from notifications.webhooks import WebhookError
from orgs.views import OrgView
from pipeline_secrets.core.web import redirect_to, render_page, time_context

DELIVERY_PAGE = 50
# While a test is on its way, its result card asks for its state again this often (htmx).
POLL = "1s"
# How often it asks before it says the worker has not taken the test (a minute).
POLLS = 60
# The session key of the one-time marker: [organization id, target id].
SHOW_SECRET = "notifications.show_secret"


class NotificationsBase(OrgView):
    """A page of the Notifications tab (admins)."""

    section = "notifications"
    policy_actions = {"GET": "notification.manage", "POST": "notification.manage"}

    def done(
        self, notice: str, *, show_secret_of: int | None = None, query: str = ""
    ) -> HttpResponse:
        """The redirect a successful POST answers, with its sentence as a message; with
        ``show_secret_of``, the list shows that target's signing secret once."""
        messages.success(self.request, notice)
        if show_secret_of is not None:
            self.request.session[SHOW_SECRET] = [self.organization.pk, show_secret_of]
        return redirect_to(self.request, self.org_url("notifications:list") + query)


class NotificationsView(NotificationsBase):
    page = "notifications/notifications.html"
    partial = "notifications/partials/_notifications.html"

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        shown = self.secret_to_show()
        extra: dict[str, Any] = {"tested": self.tested(), "poll": POLL}
        if shown is not None:
            extra |= {"new_target": shown[0], "signing_secret": shown[1]}
        return self.notifications_response(**extra)

    def notifications_response(self, status: int = 200, **extra: Any) -> HttpResponse:
        context = self.get_context_data(**extra)
        context.update(time_context())
        context.setdefault("form", NotificationTargetForm())
        context["targets"] = notifications.target_list(organization=self.organization)
        context["deliveries"] = notifications.delivery_list(organization=self.organization)[
            :DELIVERY_PAGE
        ]
        private = "signing_secret" in extra
        return render_page(
            self.request, self.page, context, partial=self.partial, status=status, private=private
        )

    def secret_to_show(self) -> tuple[NotificationTarget, str] | None:
        """The target and signing secret a POST just made, once (the marker is consumed)."""
        marker = self.request.session.pop(SHOW_SECRET, None)
        if not isinstance(marker, list) or marker[:1] != [self.organization.pk]:
            return None
        target = notifications.target_list(organization=self.organization).filter(pk=marker[1])
        found = target.first()
        if found is None or found.kind != NotificationTarget.Kind.WEBHOOK:
            return None
        try:
            return found, notifications.signing_secret(found)
        except WebhookError:  # the server's secret key changed in between: nothing to show
            return None

    def tested(self) -> NotificationDelivery | None:
        """The test delivery named by ``?test=`` (after "Send a test"), if it is this org's."""
        given = self.request.GET.get("test", "")
        if not given.isdigit() or len(given) > 18:
            return None
        rows = notifications.delivery_list(organization=self.organization)
        return rows.filter(pk=int(given)).first()


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
                shown = target.pk if raw is not None else None
                return self.done(f"Added {target.name}.", show_secret_of=shown)
        return self.notifications_response(form=form)


class NotificationTargetRemoveView(NotificationsBase):
    """GET: what removing the target does (its pending deliveries, its log), with the form;
    POST: remove it."""

    page = "notifications/remove.html"

    def get(self, request: HttpRequest, org_id: int, target_id: int) -> HttpResponse:
        target = notifications.target_get(organization=self.organization, target_id=target_id)
        deliveries = notifications.delivery_list(
            organization=self.organization, target_id=target.pk
        )
        context = self.get_context_data(
            target=target,
            logged=deliveries.count(),
            unsent=deliveries.filter(
                status__in=[
                    NotificationDelivery.Status.PENDING,
                    NotificationDelivery.Status.SENDING,
                ]
            ).count(),
        )
        return render_page(request, self.page, context)

    def post(self, request: HttpRequest, org_id: int, target_id: int) -> HttpResponse:
        target = notifications.target_get(organization=self.organization, target_id=target_id)
        notifications.target_delete(
            actor=self.user, organization=self.organization, target_id=target.pk
        )
        return self.done(f"Removed {target.name} and its delivery log.")
