"""Mail that leaves the request: invitations and the account mails (password reset, address
confirmation) are sent by the worker (``notifications.tasks.send_sealed_mail``), never while
a request waits on the mail server.

Invariants:
- the request renders the message and queues a task row in its transaction; the row's
  arguments hold the message (sender, recipients, subject, body, alternatives, headers) only
  sealed: AES-GCM under a key derived from the server's secret key (``SECRET_KEY``;
  ``SECRET_KEY_FALLBACKS`` still open it), bound to the row's idempotency key. The
  single-use secrets these mails carry (invitation token, reset key) are never in clear in
  the database;
- the worker opens and sends it through the configured backend (SMTP waits at most
  ``EMAIL_TIMEOUT`` seconds);
- once sent, the row's sealed message is replaced by a marker: running that row again
  (requeued, or retried) sends nothing, and the sealed secret is gone from the database. A
  row whose send failed keeps its sealed message (until ``notifications.tasks.prune_finished``).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django_tasks_db.models import DBTaskResult

from pipeline_secrets.core import sealing

SENT = "sent"


class UnreadableMail(Exception):
    """No configured secret key opens a queued message (the server's secret key changed)."""


# The purpose a queued mail is sealed for (``core.sealing``), bound to its task's key.
QUEUED_MAIL = "queued mail"


def seal(message: EmailMessage, key: str) -> str:
    """The message as sealed text (``v1:`` + base64 of nonce and ciphertext)."""
    alternatives = [[alt[0], alt[1]] for alt in getattr(message, "alternatives", [])]
    plain = json.dumps(
        {
            "from": message.from_email,
            "to": list(message.to),
            "cc": list(message.cc),
            "bcc": list(message.bcc),
            "reply_to": list(message.reply_to),
            "subject": str(message.subject),
            "body": str(message.body),
            "alternatives": alternatives,
            "headers": dict(message.extra_headers),
        }
    )
    return sealing.seal(plain, purpose=QUEUED_MAIL, bound_to=f"mail:{key}")


def unseal(sealed: str, key: str) -> EmailMultiAlternatives:
    """The message back; UnreadableMail when no configured secret key opens it."""
    try:
        plain = sealing.unseal(sealed, purpose=QUEUED_MAIL, bound_to=f"mail:{key}")
    except sealing.Unsealable:
        raise UnreadableMail(
            "No configured secret key opens this queued mail; it cannot be sent."
        ) from None
    fields: dict[str, Any] = json.loads(plain)
    message = EmailMultiAlternatives(
        subject=fields["subject"],
        body=fields["body"],
        from_email=fields["from"],
        to=fields["to"],
        cc=fields["cc"],
        bcc=fields["bcc"],
        reply_to=fields["reply_to"],
        headers=fields["headers"],
    )
    for content, mimetype in fields["alternatives"]:
        message.attach_alternative(content, mimetype)
    return message


def new_key() -> str:
    return secrets.token_hex(16)


def send_once(task_id: str, key: str) -> dict[str, int]:
    """Send the sealed message of task row ``task_id`` unless that row already sent it, then
    mark the row sent (its sealed message is dropped)."""
    row = DBTaskResult.objects.filter(id=task_id).values_list("args_kwargs", flat=True).first()
    sealed = (row or {}).get("kwargs", {}).get("sealed")
    if not sealed or sealed == SENT:
        return {"sent": 0}
    message = unseal(sealed, key)
    message.connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
    message.send()
    DBTaskResult.objects.filter(id=task_id).update(
        args_kwargs={"args": [], "kwargs": {"sealed": SENT, "key": key}}
    )
    return {"sent": 1}
