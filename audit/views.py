"""The organization's Activity page (admins) and each user's own Security log."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from audit import activity, selectors
from orgs import policy
from orgs.views import AccountView, OrgView
from pipeline_secrets.core.paging import keyset_page
from pipeline_secrets.core.web import render_page, wants_partial

ACTIVITY_PAGE = 50
SECURITY_PAGE = 50


def before_id(request: HttpRequest) -> int | None:
    """The ``before`` id of a page of older events, if it is one a row can have."""
    before = request.GET.get("before", "")
    return int(before) if before.isdigit() and len(before) < 19 else None


class ActivityView(OrgView):
    """The organization's audit trail, newest first, filtered by kind, actor, target and
    dates (a bookmarkable GET); ``?export=csv`` or ``json`` downloads the filtered trail
    (admins)."""

    section = "activity"
    policy_actions = {"GET": "activity.view"}

    def get(self, request: HttpRequest, org_id: int) -> HttpResponse:
        filters = activity.ActivityFilters.from_query(request.GET)
        kind = request.GET.get("export", "")
        if kind in ("csv", "json") and not filters.errors:
            name = f"activity-org-{self.organization.pk}-{timezone.now():%Y%m%d-%H%M%S}"
            return activity.export(  # type: ignore[return-value]
                filters.events(self.organization), kind, name
            )
        page: list[Any] = []
        older = None
        if not filters.errors:
            page, older = keyset_page(
                filters.events(self.organization), before=before_id(request), limit=ACTIVITY_PAGE
            )
        context = self.get_context_data(
            rows=activity.rows(page, self.organization),
            notices=activity.notices(self.organization),
            events=page,
            older=older,
            filters=filters,
            kind=filters.kind,
            kinds=activity.kinds(),
            actors=selectors.actors(self.organization),
            time_zone=timezone.get_current_timezone_name(),
        )
        return render_page(
            request,
            "audit/activity.html",
            context,
            partial="audit/partials/_activity.html",
            # htmx swaps only 2xx answers: the filters' alert is in the swapped panel.
            status=400 if filters.errors and not wants_partial(request) else 200,
        )


class SecurityLogView(AccountView):
    """The signed-in user's own sign-ins, failures, lockouts and linked identities."""

    section = "security"
    template_name = "audit/security.html"
    policy_audience = {"GET": policy.SIGNED_IN}

    def get(self, request: HttpRequest) -> HttpResponse:
        page, older = keyset_page(
            selectors.security_events(self.user), before=before_id(request), limit=SECURITY_PAGE
        )
        for event in page:
            event.through = activity.sign_in_way(event)  # type: ignore[attr-defined]
        context = self.get_context_data(events=page, older=older)
        return render_page(request, self.template_name, context)
