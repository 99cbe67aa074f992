"""Sending notification deliveries: what the worker runs (``notifications.tasks``), never a
request or the periodic job.

Invariants:
- a delivery is sent by one runner at a time: it is claimed by a conditional UPDATE (pending
  and due, or sending with an expired lease), which one runner wins on SQLite and PostgreSQL
  alike; a runner that dies mid-send leaves it to be claimed again when the lease ends;
- on a pending delivery, ``lease_until`` says until when a queued worker run is counted on
  to take it (``QUEUED``); the periodic job queues another run only for due deliveries
  without one (``notifications.tasks.enqueue_due``);
- one worker run (``send_due``) lets the organizations take turns, and sends for each at most
  ``DELIVERY_TENANT_BUDGET_SECONDS`` (each send at most ``WEBHOOK_TIMEOUT_SECONDS``): what an
  organization has left once its budget is used is deferred, the others' is not;
- a webhook's signing secret is stored encrypted with a key derived from the server's secret
  key (``SECRET_KEY``; ``SECRET_KEY_FALLBACKS`` still decrypt); each body is signed with
  HMAC-SHA256 over ``"<timestamp>.<body>"``;
- the receiver's answer body is never stored: only its status code, and errors name the
  exception type and host.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import logging
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F, Q
from django.utils import timezone

from notifications import formats
from notifications import webhooks as http
from notifications.events import TEST_EVENT, TEST_HELP, event_kinds
from notifications.models import NotificationDelivery, NotificationTarget
from pipeline_secrets.core import sealing

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
# How long a claimed delivery belongs to its runner before another may take it over.
LEASE = timedelta(minutes=2)
# How long a queued worker run is counted on before the periodic job queues another.
QUEUED = timedelta(minutes=5)
# When an organization's deliveries left over by its budget are tried again.
DEFERRAL = BACKOFF_BASE
BATCH = 100

SIGNATURE_HEADER = "X-Pipeline-Signature"
TIMESTAMP_HEADER = "X-Pipeline-Timestamp"

Status = NotificationDelivery.Status


# --------------------------------------------------------------------------- signing secret


# The purpose and the row a webhook's signing secret is sealed for (``core.sealing``).
SIGNING_SECRET = "notification signing secret"


def _bound_to(organization_id: int) -> str:
    return f"org:{organization_id}"


def encrypt_secret(plain: str, *, organization_id: int) -> str:
    return sealing.seal(plain, purpose=SIGNING_SECRET, bound_to=_bound_to(organization_id))


def decrypt_secret(token: str, *, organization_id: int) -> str:
    """The signing secret; WebhookError when no configured key opens it."""
    try:
        return sealing.unseal(token, purpose=SIGNING_SECRET, bound_to=_bound_to(organization_id))
    except sealing.Unsealable:
        raise http.WebhookError(
            "The signing secret cannot be decrypted (the server's secret key changed); "
            "remove the target and add it again."
        ) from None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Pipeline-Signature`` value: HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


# --------------------------------------------------------------------------- one worker run


def due(now: datetime) -> Q:
    """Deliveries a runner may claim at ``now``."""
    pending = Q(status=Status.PENDING, next_attempt_at__lte=now)
    abandoned = Q(status=Status.SENDING, lease_until__lte=now)
    return pending | abandoned


def taking_turns(rows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``(delivery id, organization id)`` pairs reordered so organizations take turns, each
    organization's own order kept."""
    by_org: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for row in rows:
        by_org[row[1]].append(row)
    turns = itertools.zip_longest(*by_org.values())
    return [row for turn in turns for row in turn if row is not None]


def send_due(now: datetime | None = None) -> dict[str, int]:
    """One worker run: send the deliveries that are due, organizations taking turns, each for
    at most ``DELIVERY_TENANT_BUDGET_SECONDS``; an organization's deliveries left over then
    are deferred by ``DEFERRAL``. ``now`` pins the clock (tests); one query when none is due."""
    start = now or timezone.now()
    rows = list(
        NotificationDelivery.objects.filter(due(start))
        .order_by("next_attempt_at", "id")
        .values_list("pk", "organization_id")[:BATCH]
    )
    budget = float(settings.DELIVERY_TENANT_BUDGET_SECONDS)
    spent: dict[int, float] = defaultdict(float)
    counts = {"delivered": 0, "retrying": 0, "failed": 0, "deferred": 0}
    deferred: list[int] = []
    for pk, organization_id in taking_turns(rows):
        if spent[organization_id] >= budget:
            deferred.append(pk)
            continue
        began = time.monotonic()
        at = now or timezone.now()
        item = claim(pk, at)
        if item is not None:
            counts[attempt(item, at)] += 1
        spent[organization_id] += time.monotonic() - began
    if deferred:
        counts["deferred"] = NotificationDelivery.objects.filter(
            pk__in=deferred, status=Status.PENDING
        ).update(next_attempt_at=(now or timezone.now()) + DEFERRAL, lease_until=None)
    return counts


def claim(pk: int, now: datetime) -> NotificationDelivery | None:
    """The delivery, now this runner's to send; None when it is not due or another runner
    claimed it first (the UPDATE's condition is evaluated against the committed row)."""
    won = (
        NotificationDelivery.objects.filter(due(now), pk=pk).update(
            status=Status.SENDING,
            lease_until=now + LEASE,
            attempts=F("attempts") + 1,
        )
        == 1
    )
    if not won:
        return None
    return NotificationDelivery.objects.select_related("target", "organization").get(pk=pk)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min, … up to 1 h."""
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def attempt(item: NotificationDelivery, now: datetime) -> str:
    """Send one claimed delivery and record the outcome; the outcome's name."""
    code: int | None = None
    error = ""
    try:
        code = _send(item, now)
        if code is not None and not 200 <= code < 300:
            error = f"The receiver answered {code}."
    except http.WebhookError as exc:
        error = exc.message
    except Exception as exc:  # e-mail backends raise what their transport raises
        error = f"Sending failed ({type(exc).__name__})."
    update: dict[str, Any] = {"response_code": code, "last_error": error, "lease_until": None}
    if not error:
        outcome = "delivered"
        update |= {"status": Status.DELIVERED, "delivered_at": now, "next_attempt_at": None}
    elif item.attempts >= MAX_ATTEMPTS:
        outcome = "failed"
        update |= {"status": Status.FAILED, "next_attempt_at": None}
    else:
        outcome = "retrying"
        update |= {"status": Status.PENDING, "next_attempt_at": now + backoff(item.attempts)}
    if error:
        logger.info(
            "notification %s to target %s, attempt %s: %s",
            item.pk,
            item.target_id,
            item.attempts,
            error,
        )
    NotificationDelivery.objects.filter(pk=item.pk, status=Status.SENDING).update(**update)
    return outcome


# --------------------------------------------------------------------------- what is sent


def _send(item: NotificationDelivery, now: datetime) -> int | None:
    target = item.target
    if target.kind == NotificationTarget.Kind.EMAIL:
        _send_email(item)
        return None
    body = formats.body(item)
    secret = decrypt_secret(target.signing_secret_encrypted, organization_id=target.organization_id)
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "pipeline-secrets-webhook/1",
        "X-Pipeline-Event": item.event,
        "X-Pipeline-Delivery": str(item.pk),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
    return http.post(target.url, body, headers)


def _send_email(item: NotificationDelivery) -> None:
    help = TEST_HELP if item.event == TEST_EVENT else event_kinds().get(item.event, item.event)
    lines = [item.subject, "", f"Event: {item.event} ({help})"]
    lines += [f"{key}: {formats.shown(value)}" for key, value in sorted(item.detail.items())]
    lines += ["", f"Organization: {item.organization.name}", "Sent by Pipeline Secrets."]
    send_mail(
        subject=f"[{item.organization.name}] {item.subject}",
        message="\n".join(lines),
        from_email=None,
        recipient_list=list(item.target.emails),
        fail_silently=False,
    )
