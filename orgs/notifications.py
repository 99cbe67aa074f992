"""Notifications: what happened to an organization's secrets, sent to its targets.

Other code calls ``notify``; it records one delivery per target that wants the event and,
once the caller's transaction commits, tries each one once at once. What fails is retried by
the periodic job ``run_due`` (registered as ``notifications``) with exponential backoff,
until ``MAX_ATTEMPTS``.

Invariants:
- a notification carries ids, names, versions and dates only: ``notify`` refuses detail keys
  outside ``SAFE_DETAIL`` and values that are not short scalars, so a secret value cannot be
  sent;
- a webhook's signing secret is generated here, shown once, and stored encrypted with a key
  derived from the server's secret key (``SECRET_KEY``; ``SECRET_KEY_FALLBACKS`` still
  decrypt); each body is signed with HMAC-SHA256 over ``"<timestamp>.<body>"``;
- a delivery is sent by one runner at a time: it is claimed by a conditional UPDATE (pending
  and due, or sending with an expired lease), which one runner wins on SQLite and PostgreSQL
  alike; a runner that dies mid-send leaves it to be claimed again when the lease ends;
- the receiver's answer body is never stored: only its status code, and errors name the
  exception type and host.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import EmailValidator
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from orgs import audit
from orgs import notifications_http as http
from orgs.models import NotificationDelivery, NotificationTarget, Organization, User
from pipeline_secrets.core.errors import NotFoundError

logger = logging.getLogger(__name__)

EVENTS: dict[str, str] = {
    "secret.expiring": "A certificate of a secret is inside its renewal window.",
    "secret.rotated": "A secret was rotated or renewed.",
    "secret.rotation_failed": "A rotation or renewal failed.",
    "installation.sync_failed": "An installed copy could not be brought up to date.",
}

# Keys a notification's detail may hold: ids, names, versions, dates, states and counts.
SAFE_DETAIL = frozenset(
    {
        "secretId",
        "secretName",
        "type",
        "version",
        "previousVersion",
        "expiresAt",
        "notAfter",
        "renewAt",
        "certificates",
        "trigger",
        "actor",
        "cluster",
        "clusterId",
        "namespace",
        "kubeName",
        "installationId",
        "status",
        "error",
        "workloads",
        "count",
    }
)
MAX_DETAIL_TEXT = 300

MAX_TARGETS = 20
MAX_EMAILS = 10
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
# How long a claimed delivery belongs to its runner before another may take it over.
LEASE = timedelta(minutes=2)
BATCH = 100

SIGNATURE_HEADER = "X-Pipeline-Signature"
TIMESTAMP_HEADER = "X-Pipeline-Timestamp"


# --------------------------------------------------------------------------- detail guard


def _safe_value(key: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        if len(value) > MAX_DETAIL_TEXT:
            raise ValueError(f"notification detail {key!r} is too long")
        return value
    if isinstance(value, list | tuple):
        return [_safe_value(key, item) for item in value if not isinstance(item, list | tuple)]
    raise ValueError(f"notification detail {key!r} must be a scalar or a list of scalars")


def safe_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """``detail`` as stored and sent; ValueError for keys not known to be safe or for values
    that are not short scalars (a mapping could hold a secret's values)."""
    unsafe = set(detail) - SAFE_DETAIL
    if unsafe:
        raise ValueError(f"notification detail keys not allowed: {sorted(unsafe)}")
    return {key: _safe_value(key, value) for key, value in detail.items()}


# --------------------------------------------------------------------------- signing secret


def _key(secret_key: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"pipeline-secrets notification signing secret",
    ).derive(secret_key.encode())


def _aad(organization_id: int) -> bytes:
    return f"org:{organization_id}".encode()


def encrypt_secret(plain: str, *, organization_id: int) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(settings.SECRET_KEY)).encrypt(nonce, plain.encode(), _aad(organization_id))
    return "v1:" + base64.b64encode(nonce + sealed).decode()


def decrypt_secret(token: str, *, organization_id: int) -> str:
    """The signing secret; WebhookError when no configured key opens it."""
    raw = base64.b64decode(token.removeprefix("v1:"))
    for secret_key in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        try:
            opened = AESGCM(_key(secret_key)).decrypt(raw[:12], raw[12:], _aad(organization_id))
        except InvalidTag:
            continue
        return opened.decode()
    raise http.WebhookError(
        "The signing secret cannot be decrypted (the server's secret key changed); "
        "remove the target and add it again."
    )


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Pipeline-Signature`` value: HMAC-SHA256 of ``"<timestamp>.<body>"``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


# --------------------------------------------------------------------------- targets


def _clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError({"name": "This field may not be blank."})
    name = name.strip()
    if len(name) > 100 or not name.isprintable():
        raise ValidationError({"name": "Up to 100 printable characters."})
    return name


def _clean_events(events: Any) -> list[str]:
    if events is None:
        return []
    if not isinstance(events, list):
        raise ValidationError({"events": "Must be a list of event kinds."})
    errors: dict[str, str] = {}
    for index, item in enumerate(events):
        if item not in EVENTS:
            errors[f"events.{index}"] = f"Unknown event; choose from {', '.join(EVENTS)}."
    if errors:
        raise ValidationError(errors)
    return sorted(set(events))


def _clean_emails(emails: Any) -> list[str]:
    if not isinstance(emails, list) or not emails:
        raise ValidationError({"emails": "Give at least one e-mail address."})
    if len(emails) > MAX_EMAILS:
        raise ValidationError({"emails": f"At most {MAX_EMAILS} addresses."})
    errors: dict[str, str] = {}
    validate = EmailValidator()
    for index, item in enumerate(emails):
        try:
            validate(item)
        except ValidationError:
            errors[f"emails.{index}"] = "Enter a valid e-mail address."
    if errors:
        raise ValidationError(errors)
    return list(dict.fromkeys(str(item).lower() for item in emails))


def _clean_url(url: Any) -> str:
    if not isinstance(url, str) or not url:
        raise ValidationError({"url": "Give the URL the webhook is sent to."})
    if len(url) > 2000 or any(ch.isspace() for ch in url):
        raise ValidationError({"url": "Must be a URL of at most 2000 characters."})
    try:
        http.check_url(url)
    except http.WebhookRefusedError as exc:
        raise ValidationError({"url": exc.message}) from None
    return url


def target_list(*, organization: Organization) -> QuerySet[NotificationTarget]:
    return NotificationTarget.objects.for_org(organization)


def target_get(*, organization: Organization, target_id: int) -> NotificationTarget:
    target = target_list(organization=organization).filter(pk=target_id).first()
    if target is None:
        raise NotFoundError("Notification target not found.")
    return target


def target_create(
    *,
    actor: User,
    organization: Organization,
    kind: Any,
    name: Any,
    emails: Any = None,
    url: Any = None,
    events: Any = None,
) -> tuple[NotificationTarget, str | None]:
    """A new target and, for a webhook, its signing secret (returned this once). Bad input is
    a ValidationError naming the field; nothing is written then."""
    if kind not in NotificationTarget.Kind.values:
        raise ValidationError({"kind": "Choose email or webhook."})
    cleaned_name = _clean_name(name)
    cleaned_events = _clean_events(events)
    target = NotificationTarget(
        organization=organization,
        kind=kind,
        name=cleaned_name,
        events=cleaned_events,
        created_by=actor.username,
    )
    raw: str | None = None
    if kind == NotificationTarget.Kind.EMAIL:
        if url:
            raise ValidationError({"url": "An e-mail target has no URL."})
        target.emails = _clean_emails(emails)
    else:
        if emails:
            raise ValidationError({"emails": "A webhook target has no e-mail addresses."})
        target.url = _clean_url(url)
        raw = "whsec_" + secrets.token_urlsafe(32)
        target.signing_secret_encrypted = encrypt_secret(raw, organization_id=organization.pk)
    with transaction.atomic():
        if target_list(organization=organization).count() >= MAX_TARGETS:
            raise ValidationError({"kind": f"An organization has at most {MAX_TARGETS} targets."})
        target.save()
        _audit(actor, "notification.target_add", target, type=kind, count=len(cleaned_events))
    return target, raw


def target_delete(*, actor: User, organization: Organization, target_id: int) -> None:
    """Remove a target and its delivery log."""
    with transaction.atomic():
        target = target_get(organization=organization, target_id=target_id)
        _audit(actor, "notification.target_remove", target, type=target.kind)
        target.delete()


def _audit(actor: User, action: str, target: NotificationTarget, **detail: Any) -> None:
    audit.record(
        actor=actor.username,
        action=action,
        organization=target.organization,
        target_type="notification",
        target_id=target.pk,
        target_name=target.name,
        **detail,
    )


def delivery_list(
    *, organization: Organization, target_id: int | None = None
) -> QuerySet[NotificationDelivery]:
    """The org's deliveries, newest first."""
    rows = NotificationDelivery.objects.for_org(organization).select_related("target")
    if target_id is not None:
        rows = rows.filter(target_id=target_id)
    return rows


# --------------------------------------------------------------------------- notify


def notify(*, organization: Organization, event: str, subject: str, detail: dict[str, Any]) -> None:
    """Record one delivery per target of the org that wants ``event``; after the caller's
    transaction commits, each is tried once (failures are retried by ``run_due``).
    ValueError for an unknown event or a detail that is not known to be safe."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    clean = safe_detail(detail)
    targets = [t for t in target_list(organization=organization) if t.wants(event)]
    if not targets:
        return
    now = timezone.now()
    created = NotificationDelivery.objects.bulk_create(
        [
            NotificationDelivery(
                organization=organization,
                target=target,
                event=event,
                subject=subject[:200],
                detail=clean,
                next_attempt_at=now,
                created_at=now,
            )
            for target in targets
        ]
    )
    ids = [row.pk for row in created]
    transaction.on_commit(lambda: send_now(ids), robust=True)


def send_now(ids: Iterable[int]) -> None:
    """Try the given deliveries once now (those another runner has not claimed)."""
    for pk in ids:
        now = timezone.now()
        item = _claim(pk, now)
        if item is not None:
            _attempt(item, now)


def _due(now: datetime) -> Q:
    pending = Q(status=NotificationDelivery.Status.PENDING, next_attempt_at__lte=now)
    abandoned = Q(status=NotificationDelivery.Status.SENDING, lease_until__lte=now)
    return pending | abandoned


def _claim(pk: int, now: datetime) -> NotificationDelivery | None:
    """The delivery, now this runner's to send; None when it is not due or another runner
    claimed it first (the UPDATE's condition is evaluated against the committed row)."""
    won = (
        NotificationDelivery.objects.filter(_due(now), pk=pk).update(
            status=NotificationDelivery.Status.SENDING,
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


def run_due(now: datetime) -> dict[str, int]:
    """The periodic job: send the deliveries that are due at ``now``. One query when none is."""
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    ids = list(
        NotificationDelivery.objects.filter(_due(now))
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:BATCH]
    )
    for pk in ids:
        item = _claim(pk, now)
        if item is not None:
            counts[_attempt(item, now)] += 1
    return counts


def _attempt(item: NotificationDelivery, now: datetime) -> str:
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
        update |= {"status": NotificationDelivery.Status.DELIVERED, "delivered_at": now}
        update["next_attempt_at"] = None
    elif item.attempts >= MAX_ATTEMPTS:
        outcome = "failed"
        update |= {"status": NotificationDelivery.Status.FAILED, "next_attempt_at": None}
    else:
        outcome = "retrying"
        update |= {
            "status": NotificationDelivery.Status.PENDING,
            "next_attempt_at": now + backoff(item.attempts),
        }
    if error:
        logger.info(
            "notification %s to target %s, attempt %s: %s",
            item.pk,
            item.target_id,
            item.attempts,
            error,
        )
    NotificationDelivery.objects.filter(
        pk=item.pk, status=NotificationDelivery.Status.SENDING
    ).update(**update)
    return outcome


def payload(item: NotificationDelivery) -> dict[str, Any]:
    """The JSON body of a webhook (and the facts of an e-mail)."""
    return {
        "id": item.pk,
        "event": item.event,
        "subject": item.subject,
        "organization": {"id": item.organization_id, "name": item.organization.name},
        "detail": item.detail,
        "createdAt": item.created_at.isoformat(),
    }


def _send(item: NotificationDelivery, now: datetime) -> int | None:
    target = item.target
    if target.kind == NotificationTarget.Kind.EMAIL:
        _send_email(item)
        return None
    body = json.dumps(payload(item), separators=(",", ":"), sort_keys=True).encode()
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
    lines = [item.subject, "", f"Event: {item.event} ({EVENTS[item.event]})"]
    lines += [f"{key}: {value}" for key, value in sorted(item.detail.items())]
    lines += ["", f"Organization: {item.organization.name}", "Sent by Pipeline Secrets."]
    send_mail(
        subject=f"[{item.organization.name}] {item.subject}",
        message="\n".join(lines),
        from_email=None,
        recipient_list=list(item.target.emails),
        fail_silently=False,
    )
