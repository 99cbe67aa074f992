"""What the break-glass part of governance registers with the apps below it: its event kind
for notification targets, its filter on the activity page, and the flag that page shows on
each break-glass event (and the notice above the trail) until an admin acknowledges it."""

from __future__ import annotations

from django.urls import reverse

from audit.activity import Notice
from audit.models import AuditEvent
from governance import breakglass
from orgs.models import Organization

FLAG = "Break-glass: not acknowledged"


def flags(organization: Organization, events: list[AuditEvent]) -> dict[int, str]:
    """The break-glass events of an activity page still waiting for an admin (one query)."""
    wanted = {e.pk: e.detail.get("breakGlass") for e in events if e.action == breakglass.EVENT}
    if not wanted:
        return {}
    open_ids = set(
        breakglass.event_list(organization=organization, open_only=True)
        .filter(pk__in=[i for i in wanted.values() if isinstance(i, int)])
        .values_list("pk", flat=True)
    )
    return {pk: FLAG for pk, event_id in wanted.items() if event_id in open_ids}


def notices(organization: Organization) -> list[Notice]:
    count = breakglass.event_list(organization=organization, open_only=True).count()
    if not count:
        return []
    text = "1 break-glass reveal waits" if count == 1 else f"{count} break-glass reveals wait"
    return [
        Notice(
            text=f"{text} for an admin's acknowledgement.",
            url=reverse("governance:breakglass-list", args=[organization.pk]),
            link="Review break-glass reveals",
        )
    ]


def ready() -> None:
    from audit import activity
    from notifications.events import register_event

    register_event(
        breakglass.EVENT,
        "Someone revealed values their role does not read (break-glass), with a justification.",
    )
    activity.register_kind(breakglass.EVENT, "Break-glass", weight=25)
    activity.register_flags(flags)
    activity.register_notices(notices)
