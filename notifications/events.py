"""The kinds of events an organization may be notified of, registered by the apps that
raise them (in their ``AppConfig.ready()``): this app names none of them, except the
member changes of ``orgs`` and ``accounts`` below it.

An event kind is raised in one of two ways: the app calls ``notifications.services.notify``
(expiry, rotation, failures), or the kind names the audit actions it follows (``audit=``):
each audit event of those actions becomes a notification (``notifications.audit_events``),
in the transaction that records it. A kind may be opt-in: a target that ticks no event
gets every kind except those (values read would otherwise flood it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class EventKind:
    """One kind: ``help`` says when it happens; ``audit`` maps the audit actions it follows
    to the subject of their notification (``{actor}``, ``{name}``, ``{version}``,
    ``{role}``, ``{namespace}``, ``{cluster}`` ... filled from the audit event)."""

    name: str
    help: str
    group: str = ""
    opt_in: bool = False
    audit: Mapping[str, str] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return self.name.split(".", 1)[0]


_EVENTS: dict[str, EventKind] = {}
# audit action -> (event kind, subject template)
_BY_ACTION: dict[str, tuple[str, str]] = {}

# Sent by "Send a test" to one target only; no target chooses it.
TEST_EVENT = "test"
TEST_HELP = "A test, sent from the Notifications page or the API."


def register_event(
    name: str,
    help: str,
    *,
    group: str = "",
    opt_in: bool = False,
    audit: Mapping[str, str] | None = None,
) -> None:
    """Offer ``name`` to notification targets; ``help`` says when it happens (the target form
    and the e-mails show it). ``group`` titles the kinds sharing its prefix on the form,
    ``opt_in`` keeps it from targets that ticked nothing, ``audit`` (action: subject) makes
    those audit events raise it. Registering a name again replaces it."""
    _EVENTS[name] = EventKind(name, help, group, opt_in, dict(audit or {}))
    _BY_ACTION.clear()
    for kind in _EVENTS.values():
        _BY_ACTION.update({action: (kind.name, subject) for action, subject in kind.audit.items()})


def event_kinds() -> dict[str, str]:
    """Every registered event kind and its help, in registration order."""
    return {name: kind.help for name, kind in _EVENTS.items()}


def kinds() -> list[EventKind]:
    """Every registered event kind, in registration order."""
    return list(_EVENTS.values())


def is_opt_in(name: str) -> bool:
    kind = _EVENTS.get(name)
    return kind is not None and kind.opt_in


def groups() -> list[tuple[str, list[EventKind]]]:
    """The kinds by prefix (``secret.``, ``member.`` ...), in the order prefixes were first
    registered; a group's title is the first ``group`` given for its prefix, else the
    prefix capitalized."""
    by_prefix: dict[str, list[EventKind]] = {}
    for kind in _EVENTS.values():
        by_prefix.setdefault(kind.prefix, []).append(kind)
    titled = []
    for prefix, members in by_prefix.items():
        title = next((k.group for k in members if k.group), prefix.capitalize())
        titled.append((title, members))
    return titled


def for_audit_action(action: str) -> tuple[str, str] | None:
    """The event kind an audit action raises and its subject template, if any."""
    return _BY_ACTION.get(action)
