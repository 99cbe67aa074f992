"""What the worker (``manage.py db_worker``) runs for this app, and what queues it.

Tasks are rows of the database task backend (``settings.TASKS``): queued inside the caller's
transaction, a task commits with the change that asked for it, or not at all. A run is
idempotent: it sends only what it claims (``notifications.sending``), so a run queued
twice sends nothing twice; a queued mail is sealed in its row and marked sent there once
sent (``notifications.mail_outbox``), so that row run again sends nothing.
"""

from __future__ import annotations

from datetime import datetime

from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django_tasks import TaskContext, task

from notifications import mail_outbox
from notifications import sending as send
from notifications.models import NotificationDelivery


@task()
def deliver_notifications() -> dict[str, int]:
    """Send the notification deliveries that are due (``sending.send_due``)."""
    return send.send_due()


def queue_deliveries() -> None:
    """Queue a delivery run, in the caller's transaction (the task row commits with it)."""
    deliver_notifications.enqueue()


@task(takes_context=True)
def send_sealed_mail(context: TaskContext, sealed: str, key: str) -> dict[str, int]:
    """Send one queued mail, once (``notifications.mail_outbox``); ``sealed`` is read back from the
    row, so a row already sent sends nothing."""
    return mail_outbox.send_once(str(context.task_result.id), key)


def queue_mail(message: EmailMessage) -> None:
    """Queue ``message`` for the worker, sealed, in the caller's transaction."""
    key = mail_outbox.new_key()
    send_sealed_mail.enqueue(sealed=mail_outbox.seal(message, key), key=key)


def enqueue_due(now: datetime) -> dict[str, int]:
    """The periodic job: queue a delivery run when deliveries are due that no queued run is
    counted on to take (retries after their backoff, deferred ones, those of a run that
    died). It never sends; one query when nothing is due."""
    unqueued = Q(status=NotificationDelivery.Status.PENDING, next_attempt_at__lte=now) & (
        Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    )
    abandoned = Q(status=NotificationDelivery.Status.SENDING, lease_until__lte=now)
    if not NotificationDelivery.objects.filter(unqueued | abandoned).exists():
        return {"runs": 0, "due": 0}
    with transaction.atomic():
        marked = NotificationDelivery.objects.filter(unqueued).update(lease_until=now + send.QUEUED)
        queue_deliveries()
    return {"runs": 1, "due": marked}
