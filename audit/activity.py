"""The activity page's filters, readable details and exports of the audit trail.

Audit rows hold no values (``audit.services`` refuses unknown detail keys), so an export of
the filtered trail carries only what the page shows: who, what, on what, when, and the
safe details.

What the page names of the apps above this one (the kinds of events to filter by, the
targets events link to) those apps register in their ``AppConfig.ready()``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import urlencode

from audit import selectors
from audit.models import AuditEvent
from orgs.models import Organization

# The kinds of events the page filters by: (action prefix, label), in ``weight`` order after
# "Everything". Registered by the app whose events they are (``register_kind``).
_KINDS: dict[str, tuple[int, str]] = {}


def register_kind(prefix: str, label: str, *, weight: int) -> None:
    """Offer the events whose action starts with ``prefix`` as a filter, as ``label``."""
    _KINDS[prefix] = (weight, label)


def kinds() -> list[tuple[str, str]]:
    ordered = sorted(_KINDS.items(), key=lambda item: item[1][0])
    return [("", "Everything"), *((prefix, label) for prefix, (_, label) in ordered)]


# An export is capped: beyond this, narrow the dates.
EXPORT_LIMIT = 10_000
EXPORT_FIELDS = ("time", "actor", "action", "targetType", "targetId", "targetName", "detail")
DETAIL_LABELS = {
    "fields": "fields",
    "statuses": "results",
    "expiresAt": "expires",
    "ttl": "removed after",
    "source": "from version",
}


# A detail key that means something else in some events: sign-in events say which way the
# person signed in ("source"), where a rollback says which version it came from.
ACTION_DETAIL_LABELS = {"signin": {"source": "through"}, "identity": {"purpose": "through"}}
SIGN_IN_WAYS = {"local": "password", "ldap": "LDAP", "github": "GitHub"}


def detail_label(action: str, key: str) -> str:
    """How the page labels the detail ``key`` of an event of ``action``."""
    family = action.partition(".")[0]
    return ACTION_DETAIL_LABELS.get(family, {}).get(key) or DETAIL_LABELS.get(key, key)


def sign_in_way(event: AuditEvent) -> str:
    """How the person of a sign-in or identity event signed in, as people name it."""
    detail = event.detail or {}
    raw = str(detail.get("source") or detail.get("purpose") or "")
    return SIGN_IN_WAYS.get(raw, raw)


FIRST_DAY = date.min + timedelta(days=1)
LAST_DAY = date.max - timedelta(days=1)


@dataclass
class ActivityFilters:
    """What the trail is narrowed to, from the query string; bad input is an error per
    control, never silently dropped."""

    kind: str = ""
    actor: str = ""
    target: str = ""
    since: date | None = None
    until: date | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_query(cls, query: QueryDict) -> ActivityFilters:
        found = cls(
            actor=query.get("actor", "").replace("\x00", "").strip()[:150],
            target=query.get("target", "").replace("\x00", "").strip()[:253],
        )
        kind = query.get("kind", "")
        if kind in dict(kinds()):
            found.kind = kind
        else:
            found.errors["kind"] = "Choose what to show from the list."
        for name in ("since", "until"):
            raw = query.get(name, "").strip()
            if not raw:
                continue
            try:
                day = date.fromisoformat(raw[:10])
            except ValueError:
                found.errors[name] = "Give a date as YYYY-MM-DD."
                continue
            # A day's bounds in any time zone must stay within what a datetime holds.
            if not FIRST_DAY <= day <= LAST_DAY:
                found.errors[name] = f"Give a date from {FIRST_DAY} to {LAST_DAY}."
                continue
            setattr(found, name, day)
        if found.since and found.until and found.until < found.since:
            found.errors["until"] = "The end date comes before the start date."
        return found

    def pairs(self) -> list[tuple[str, str]]:
        pairs = [
            ("kind", self.kind),
            ("actor", self.actor),
            ("target", self.target),
            ("since", self.since.isoformat() if self.since else ""),
            ("until", self.until.isoformat() if self.until else ""),
        ]
        return [(k, v) for k, v in pairs if v]

    def query(self) -> str:
        """``?<filters>`` (just ``?`` without any), to which a template may append."""
        return "?" + urlencode(self.pairs())

    @property
    def active(self) -> bool:
        return bool(self.pairs())

    def events(self, organization: Organization) -> QuerySet[AuditEvent]:
        zone = timezone.get_current_timezone()
        since = datetime.combine(self.since, time.min, zone) if self.since else None
        # The end date is included: up to the start of the day after.
        until = (
            datetime.combine(self.until + timedelta(days=1), time.min, zone) if self.until else None
        )
        return selectors.events(
            organization=organization,
            action=self.kind or None,
            actor=self.actor or None,
            target_name=self.target or None,
            since=since,
            until=until,
        )


def readable(value: Any) -> str:
    """A detail value as people read it: lists joined, counts as "4 installed"."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(readable(v) for v in value) or "none"
    if isinstance(value, dict):
        parts = []
        # In key order: PostgreSQL's jsonb keeps no insertion order, and the text should not
        # depend on the database.
        for key, item in sorted(value.items()):
            if isinstance(item, int) and not isinstance(item, bool):
                parts.append(f"{item} {key}")
            elif isinstance(item, dict) and {"kind", "name"} <= set(item):
                parts.append(f"{item['kind']}/{item['name']}")
            else:
                parts.append(f"{key} {readable(item)}")
        return ", ".join(parts) or "none"
    return str(value)


def details(event: AuditEvent) -> list[tuple[str, str]]:
    """The event's details as (label, text), empty ones left out."""
    shown = []
    for key, value in (event.detail or {}).items():
        if value in (None, "", [], {}):
            continue
        if key == "workloads" and isinstance(value, list):
            text = ", ".join(
                f"{w.get('kind')}/{w.get('name')}" if isinstance(w, dict) else str(w) for w in value
            )
        else:
            text = readable(value)
        label = detail_label(event.action, key)
        if label == "through":
            text = SIGN_IN_WAYS.get(text, text)
        shown.append((label, text))
    return shown


# How each app's targets link: ``existing(organization, target_ids)`` answers which of the
# ids still exist (one query), ``url(organization, target_id)`` where one lives. Registered
# by the apps that own the targets (their AppConfig.ready), so this module imports none.
TargetExisting = Callable[[Organization, set[str]], set[str]]
TargetUrl = Callable[[Organization, str], str]
_TARGETS: dict[str, tuple[TargetExisting, TargetUrl]] = {}


def register_target(target_type: str, existing: TargetExisting, url: TargetUrl) -> None:
    _TARGETS[target_type] = (existing, url)


# What waits for an admin, registered by the apps that own it (say, a break-glass reveal not
# yet acknowledged): ``flags(organization, events)`` names the events of a page that are
# flagged (event id -> why), ``notices(organization)`` what the page says above the trail.
@dataclass(frozen=True)
class Notice:
    text: str
    url: str
    link: str


EventFlags = Callable[[Organization, list[AuditEvent]], dict[int, str]]
PageNotices = Callable[[Organization], list[Notice]]
_FLAGS: list[EventFlags] = []
_NOTICES: list[PageNotices] = []


def register_flags(flags: EventFlags) -> None:
    if flags not in _FLAGS:
        _FLAGS.append(flags)


def register_notices(notices: PageNotices) -> None:
    if notices not in _NOTICES:
        _NOTICES.append(notices)


def notices(organization: Organization) -> list[Notice]:
    return [notice for found in _NOTICES for notice in found(organization)]


def flags(events: list[AuditEvent], organization: Organization) -> dict[int, str]:
    flagged: dict[int, str] = {}
    for found in _FLAGS:
        flagged.update(found(organization, events))
    return flagged


def rows(events: list[AuditEvent], organization: Organization) -> list[dict[str, Any]]:
    """The page's rows: each event with its readable details, its target's link when the
    target still exists (one query per kind of target on the page) and its flag, if any."""
    wanted: dict[str, set[str]] = {}
    for event in events:
        if event.target_type in _TARGETS and event.target_id:
            wanted.setdefault(event.target_type, set()).add(event.target_id)
    present = {kind: _TARGETS[kind][0](organization, ids) for kind, ids in wanted.items()}

    def url(event: AuditEvent) -> str:
        if event.target_id in present.get(event.target_type, set()):
            return _TARGETS[event.target_type][1](organization, event.target_id)
        return ""

    flagged = flags(events, organization) if events else {}
    return [
        {"event": e, "details": details(e), "url": url(e), "flag": flagged.get(e.pk, "")}
        for e in events
    ]


def export_record(event: AuditEvent) -> dict[str, Any]:
    return {
        "time": event.created_at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "targetType": event.target_type,
        "targetId": event.target_id,
        "targetName": event.target_name,
        "detail": event.detail or {},
    }


def export(events: QuerySet[AuditEvent], kind: str, filename: str) -> StreamingHttpResponse:
    """The filtered trail as CSV or JSON, streamed, newest first, up to ``EXPORT_LIMIT``."""
    chosen = events.order_by("-created_at", "-id")[:EXPORT_LIMIT].iterator(chunk_size=500)
    if kind == "json":
        body: Iterator[str] = _json_lines(chosen)
        content_type = "application/json"
    else:
        body = _csv_lines(chosen)
        content_type = "text/csv; charset=utf-8"
    response = StreamingHttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}.{kind}"'
    response["Cache-Control"] = "no-store"
    return response


def _json_lines(events: Iterator[AuditEvent]) -> Iterator[str]:
    yield "["
    for number, event in enumerate(events):
        yield ("," if number else "") + "\n" + json.dumps(export_record(event))
    yield "\n]\n"


def _csv_lines(events: Iterator[AuditEvent]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(EXPORT_FIELDS)
    yield flush()
    for event in events:
        record = export_record(event)
        record["detail"] = "; ".join(f"{k}: {v}" for k, v in details(event))
        # A cell starting with = + - @ is a formula to spreadsheets: quote it as text.
        writer.writerow(
            [
                f"'{v}" if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v
                for v in (record[name] for name in EXPORT_FIELDS)
            ]
        )
        yield flush()
