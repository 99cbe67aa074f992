"""Notifications raised by audit events: one seam instead of a call in every service.

The audit trail tells ``orgs.reporting``'s listeners of every event it records, in the
writer's transaction; ``heard`` is this app's listener. An event whose action an event kind
follows (``events.register_event(..., audit=...)``) becomes one delivery per target that
wants the kind, recorded with a worker run in that same transaction
(``services.notify_many``): the notifications commit with the change they announce, or not
at all, and nothing is sent before the worker runs.

Invariants:
- only what the audit event holds (ids, names, versions, roles, namespaces, field names)
  goes into a notification, and only under the keys ``DETAIL`` lists: never a value;
- a failure to record a notification never undoes the change it announces (logged).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from notifications import formats, services
from notifications.events import for_audit_action

logger = logging.getLogger(__name__)

# The audit detail a notification carries, and the key it carries it under.
DETAIL = {
    "version": "version",
    "fields": "fields",
    "purpose": "purpose",
    "role": "role",
    "namespace": "namespace",
    "cluster": "cluster",
    "secret": "kubeName",
    "source": "source",
    "type": "type",
    "count": "count",
    "ttl": "ttl",
    "overwrite": "overwrite",
}

# What the audit event's target is called in a notification: (id key, name key).
TARGETS = {
    "secret": ("secretId", "secretName"),
    "member": ("userId", "member"),
    "cluster": ("clusterId", "cluster"),
}


class _Blank(dict[str, Any]):
    """Fills a subject template; what the event does not hold reads as nothing."""

    def __missing__(self, key: str) -> str:
        return ""


def detail_of(event: Any) -> dict[str, Any]:
    """The notification detail of one audit event."""
    detail: dict[str, Any] = {"action": event.action, "actor": event.actor}
    id_key, name_key = TARGETS.get(event.target_type, (None, None))
    if id_key and event.target_id:
        detail[id_key] = event.target_id
    if name_key and event.target_name:
        detail[name_key] = event.target_name
    for key, value in (event.detail or {}).items():
        if key in DETAIL and value not in (None, ""):
            detail[DETAIL[key]] = value
    statuses = (event.detail or {}).get("statuses")
    if isinstance(statuses, dict):
        detail["statuses"] = [f"{state}: {count}" for state, count in sorted(statuses.items())]
    return detail


def subject_of(template: str, event: Any, detail: dict[str, Any]) -> str:
    words = _Blank({key: formats.shown(value) for key, value in detail.items()})
    words |= {"actor": event.actor, "name": event.target_name}
    return " ".join(template.format_map(words).split())


def heard(events: Sequence[Any]) -> None:
    """The listener installed in ``orgs.reporting``: notify each organization of the events
    its kinds follow (one query for the targets per organization and batch)."""
    wanted: dict[int, tuple[Any, list[tuple[str, str, dict[str, Any]]]]] = {}
    for event in events:
        found = for_audit_action(event.action)
        if found is None or event.organization_id is None:
            continue
        kind, template = found
        detail = detail_of(event)
        entry = wanted.setdefault(event.organization_id, (event.organization, []))
        entry[1].append((kind, subject_of(template, event, detail), detail))
    for organization, items in wanted.values():
        try:
            services.notify_many(organization=organization, items=items)
        except Exception:
            logger.exception(
                "notifications of audit events in org %s not recorded", organization.pk
            )
