"""The kinds of events an organization may be notified of, registered by the apps that
raise them (in their ``AppConfig.ready()``): this app names none of them."""

from __future__ import annotations

_EVENTS: dict[str, str] = {}


def register_event(name: str, help: str) -> None:
    """Offer ``name`` to notification targets; ``help`` says when it happens (the target form
    and the e-mails show it). Registering a name again replaces its help."""
    _EVENTS[name] = help


def event_kinds() -> dict[str, str]:
    """Every registered event kind and its help, in registration order."""
    return dict(_EVENTS)
