"""Notifications: what happened to an organization's secrets, sent to its targets.

Other code calls ``notify``; it records one delivery per target that wants the event and
queues a worker run in the caller's transaction (``notifications.tasks``), so the deliveries and the
task commit with the change they announce, or not at all. The worker sends them
(``notifications.sending``): no request and no periodic job waits on a receiver. What fails
is retried with exponential backoff (``sending.MAX_ATTEMPTS`` tries); the periodic
job queues a run for what has come due again (``notifications.tasks.enqueue_due``).

Invariants:
- a notification carries ids, names, versions and dates only: ``notify`` refuses detail keys
  outside ``SAFE_DETAIL`` and values that are not short scalars, so a secret value cannot be
  sent;
- a webhook's signing secret is generated here, shown once, and stored encrypted
  (``sending.encrypt_secret``);
- a webhook URL's host must resolve when the target is saved, and none of its addresses may
  be in a refused network (``webhooks.check_url``).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from notifications import sending as send
from notifications import tasks
from notifications import webhooks as http
from notifications.events import TEST_EVENT, event_kinds
from notifications.models import NotificationDelivery, NotificationTarget
from orgs import reporting
from orgs.models import Organization, User
from pipeline_secrets.core.errors import NotFoundError

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
        # Raised from audit events (``notifications.audit_events``): what the event names.
        "action",
        "fields",
        "purpose",
        "role",
        "member",
        "userId",
        "statuses",
        "source",
        "ttl",
        "overwrite",
    }
)
MAX_DETAIL_TEXT = 300

MAX_TARGETS = 20
MAX_EMAILS = 10


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
    known = event_kinds()
    for index, item in enumerate(events):
        if item not in known:
            errors[f"events.{index}"] = f"Unknown event; choose from {', '.join(known)}."
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


def _clean_format(kind: str, format: Any) -> str:
    if format in (None, ""):
        return NotificationTarget.Format.GENERIC
    if format not in NotificationTarget.Format.values:
        raise ValidationError({"format": "Choose generic or slack."})
    if kind == NotificationTarget.Kind.EMAIL and format != NotificationTarget.Format.GENERIC:
        raise ValidationError({"format": "An e-mail target has no payload format."})
    return str(format)


def _clean_address(target: NotificationTarget, emails: Any, url: Any) -> None:
    """Where ``target`` sends: its e-mail addresses or its webhook URL (checked)."""
    if target.kind == NotificationTarget.Kind.EMAIL:
        if url:
            raise ValidationError({"url": "An e-mail target has no URL."})
        target.emails = _clean_emails(emails)
    else:
        if emails:
            raise ValidationError({"emails": "A webhook target has no e-mail addresses."})
        target.url = _clean_url(url)


def _new_signing_secret(target: NotificationTarget) -> str:
    raw = "whsec_" + secrets.token_urlsafe(32)
    target.signing_secret_encrypted = send.encrypt_secret(
        raw, organization_id=target.organization_id
    )
    return raw


def target_create(
    *,
    actor: User,
    organization: Organization,
    kind: Any,
    name: Any,
    emails: Any = None,
    url: Any = None,
    events: Any = None,
    format: Any = None,
) -> tuple[NotificationTarget, str | None]:
    """A new target and, for a webhook, its signing secret (returned this once). Bad input is
    a ValidationError naming the field; nothing is written then."""
    if kind not in NotificationTarget.Kind.values:
        raise ValidationError({"kind": "Choose email or webhook."})
    target = NotificationTarget(
        organization=organization,
        kind=kind,
        name=_clean_name(name),
        events=_clean_events(events),
        format=_clean_format(kind, format),
        created_by=actor.username,
    )
    _clean_address(target, emails, url)
    raw = _new_signing_secret(target) if kind == NotificationTarget.Kind.WEBHOOK else None
    with transaction.atomic():
        if target_list(organization=organization).count() >= MAX_TARGETS:
            raise ValidationError({"kind": f"An organization has at most {MAX_TARGETS} targets."})
        target.save()
        _audit(actor, "notification.target_add", target, type=kind, count=len(target.events))
    return target, raw


EDITABLE = ("name", "emails", "url", "events", "format")


def target_update(
    *,
    actor: User,
    organization: Organization,
    target_id: int,
    name: Any,
    emails: Any = None,
    url: Any = None,
    events: Any = None,
    format: Any = None,
    new_secret: bool = False,
) -> tuple[NotificationTarget, str | None]:
    """Change a target's name, addresses or URL, events and format (its kind stays); with
    ``new_secret`` a webhook gets a new signing secret, returned this once (the old one
    stops signing at once). Bad input is a ValidationError naming the field; nothing is
    written then. Audited with the names of the attributes changed."""
    with transaction.atomic():
        target = target_get(organization=organization, target_id=target_id)
        before = {key: getattr(target, key) for key in EDITABLE}
        target.name = _clean_name(name)
        target.events = _clean_events(events)
        target.format = _clean_format(target.kind, format)
        _clean_address(target, emails, url)
        if new_secret and target.kind != NotificationTarget.Kind.WEBHOOK:
            raise ValidationError({"new_secret": "Only a webhook has a signing secret."})
        raw = _new_signing_secret(target) if new_secret else None
        changed = [key for key in EDITABLE if getattr(target, key) != before[key]]
        changed += ["signing secret"] if raw else []
        target.save()
        _audit(actor, "notification.target_update", target, type=target.kind, fields=changed)
    return target, raw


def signing_secret(target: NotificationTarget) -> str:
    """A webhook's signing secret in clear (to show it once after it was made)."""
    return send.decrypt_secret(
        target.signing_secret_encrypted, organization_id=target.organization_id
    )


def target_test(*, actor: User, organization: Organization, target_id: int) -> NotificationDelivery:
    """Record a ``test`` notification for one target and queue a worker run for it: the
    delivery log then says how sending it went (the receiver's status code, or the error)."""
    with transaction.atomic():
        target = target_get(organization=organization, target_id=target_id)
        now = timezone.now()
        delivery = NotificationDelivery.objects.create(
            organization=organization,
            target=target,
            event=TEST_EVENT,
            subject=f"Test notification for {target.name}"[:200],
            detail=safe_detail({"actor": actor.username}),
            next_attempt_at=now,
            lease_until=now + send.QUEUED,
            created_at=now,
        )
        tasks.queue_deliveries()
        _audit(actor, "notification.target_test", target, type=target.kind)
    return delivery


def target_delete(*, actor: User, organization: Organization, target_id: int) -> None:
    """Remove a target and its delivery log."""
    with transaction.atomic():
        target = target_get(organization=organization, target_id=target_id)
        _audit(actor, "notification.target_remove", target, type=target.kind)
        target.delete()


def _audit(actor: User, action: str, target: NotificationTarget, **detail: Any) -> None:
    reporting.audit(
        actor=actor.username,
        action=action,
        organization=target.organization,
        target_type="notification",
        target_id=target.pk,
        target_name=target.name,
        **detail,
    )


def delivery_get(*, organization: Organization, delivery_id: int) -> NotificationDelivery:
    delivery = delivery_list(organization=organization).filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFoundError("Notification delivery not found.")
    return delivery


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
    """Record one delivery per target of the org that wants ``event`` and queue a worker run
    for them, both in the caller's transaction (or one of their own). Nothing is sent here.
    ValueError for an unknown event or a detail that is not known to be safe."""
    notify_many(organization=organization, items=[(event, subject, detail)])


def notify_many(*, organization: Organization, items: list[tuple[str, str, dict[str, Any]]]) -> int:
    """``notify`` for several ``(event, subject, detail)`` at once: one query for the
    targets, one INSERT and one queued worker run for them all; how many deliveries."""
    checked = []
    for event, subject, detail in items:
        if event not in event_kinds():
            raise ValueError(f"unknown notification event {event!r}")
        checked.append((event, subject[:200], safe_detail(detail)))
    targets = list(target_list(organization=organization))
    now = timezone.now()
    deliveries = [
        NotificationDelivery(
            organization=organization,
            target=target,
            event=event,
            subject=subject,
            detail=detail,
            next_attempt_at=now,
            # The run queued below takes them: the periodic job need not queue one.
            lease_until=now + send.QUEUED,
            created_at=now,
        )
        for event, subject, detail in checked
        for target in targets
        if target.wants(event)
    ]
    if not deliveries:
        return 0
    with transaction.atomic():
        NotificationDelivery.objects.bulk_create(deliveries)
        tasks.queue_deliveries()
    return len(deliveries)
