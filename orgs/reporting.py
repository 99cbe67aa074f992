"""What the apps below ``audit`` and ``notifications`` report to them: audit events and mail.

``orgs`` is the bottom app and ``accounts`` sits beside those two (the layer rule): neither
may import them, yet creating an organization or signing in is audited and an invitation
is mailed. ``audit`` and ``notifications`` install their writers here in their
``AppConfig.ready()``; reporting with none installed raises, so an event or a mail is
never lost without a word. Both writers work in the caller's transaction: what is
reported commits with the change it reports, or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.mail import EmailMessage

# ``record(**event)`` saves one audit event; ``record_all(events)`` several at once. An event
# is the keyword arguments of ``audit.services.event``: actor, action, target_type, ...
AuditWriter = Callable[..., Any]
AuditBatchWriter = Callable[[Iterable[dict[str, Any]]], None]
MailQueue = Callable[[EmailMessage], None]
# ``listener(events)`` hears of audit events just recorded (saved ``audit.models.AuditEvent``
# rows: ``organization``, ``actor``, ``action``, ``target_type``, ``target_id``,
# ``target_name``, ``detail``), in the writer's transaction.
AuditListener = Callable[[Sequence[Any]], None]


class NotInstalled(RuntimeError):
    """No app installed the writer asked for (``audit`` or ``notifications`` is missing)."""


_audit: list[tuple[AuditWriter, AuditBatchWriter]] = []
_mail: list[MailQueue] = []
_listeners: list[AuditListener] = []


def install_audit(record: AuditWriter, record_all: AuditBatchWriter) -> None:
    _audit[:] = [(record, record_all)]


def install_mail_queue(queue: MailQueue) -> None:
    _mail[:] = [queue]


def install_audit_listener(listener: AuditListener) -> None:
    """Have ``listener`` hear of every audit event the trail records (installing it again
    changes nothing). It runs in the writer's transaction: what it writes commits with the
    event, or not at all."""
    if listener not in _listeners:
        _listeners.append(listener)


def recorded(events: Sequence[Any]) -> None:
    """Tell the installed listeners of ``events``, just recorded (the audit trail calls it)."""
    if events:
        for listener in _listeners:
            listener(events)


def _audit_writers() -> tuple[AuditWriter, AuditBatchWriter]:
    if not _audit:
        raise NotInstalled("No audit trail is installed: add the audit app.")
    return _audit[0]


def audit(**event: Any) -> None:
    """Record one audit event (``audit.services.event``'s arguments)."""
    _audit_writers()[0](**event)


def audit_all(events: Iterable[dict[str, Any]]) -> None:
    """Record several audit events in one statement."""
    _audit_writers()[1](list(events))


def queue_mail(message: EmailMessage) -> None:
    """Queue ``message`` for the worker (sealed, in the caller's transaction)."""
    if not _mail:
        raise NotInstalled("No mail queue is installed: add the notifications app.")
    _mail[0](message)
