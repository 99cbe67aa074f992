"""Break-glass: a reveal of a secret's values by someone whose role would not read them, with
a justification, when the organization allows it (``Protection.break_glass``).

Invariants:
- the caller's right is asked first (``breakglass.reveal``), then the justification is
  checked (a field error), then whether the caller's own role reads the values (then the
  normal read is the way: 409, nothing recorded), then whether the organization allows
  break-glass (403 otherwise); a refusal records nothing and reads nothing;
- a token limited below its person's role breaks no glass its person would not: the
  person's stored role is what "would not read" is asked of;
- the values are read through the one values service as the product itself, for a reason
  naming the person; the ``BreakGlass`` row, the flagged audit event, the notification
  deliveries and each admin's mail are written in one transaction after Vault answered,
  and the values are returned only once that transaction committed;
- the justification is the caller's own words (never a value); it is kept on the row and
  in the audit event, and mailed to the admins; webhooks carry ids and names only;
- an event stays flagged (on the activity page and in the list) until an admin
  acknowledges it; acknowledging twice keeps the first acknowledgement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from audit import services as audit
from governance.models import BreakGlass, Protection
from notifications import services as notifications
from notifications.models import NotificationTarget
from orgs import policy, reporting
from orgs.invitations import address_of
from orgs.models import Membership, Organization, Role
from pipeline_secrets.core.errors import ConflictError, NotFoundError
from secrets_app import values as secret_values
from secrets_app.models import SecretIndex

EVENT = "secret.break_glass"
ACKNOWLEDGED = "secret.break_glass_acknowledged"
JUSTIFICATION_MIN = 10
JUSTIFICATION_MAX = 2000
NOT_FOUND = "Break-glass event not found."


@dataclass(frozen=True)
class Revealed:
    """What a break-glass reveal answers: its record and the values Vault holds now."""

    event: BreakGlass
    row: SecretIndex
    version: int
    values: dict[str, Any]


def allowed(organization: Organization) -> bool:
    """Whether the organization allows break-glass (off until its protection says so)."""
    protection = Protection.objects.filter(organization=organization).first()
    return protection is not None and protection.break_glass


def clean_justification(text: Any) -> str:
    """The justification, stripped; a ValidationError naming the field otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError({"justification": "Say why you need these values."})
    text = text.strip()
    if len(text) < JUSTIFICATION_MIN:
        raise ValidationError(
            {"justification": f"Give at least {JUSTIFICATION_MIN} characters: say why."}
        )
    if len(text) > JUSTIFICATION_MAX:
        raise ValidationError({"justification": f"At most {JUSTIFICATION_MAX} characters."})
    if "\x00" in text:
        raise ValidationError({"justification": "Plain text only."})
    return text


def own_role_reads(membership: Membership, row: SecretIndex) -> bool:
    """Whether the person behind ``membership`` reads the values without breaking glass:
    their stored role, whatever an API token lowered it to for this request."""
    stored = Membership.objects.select_related("organization", "user").get(pk=membership.pk)
    return policy.allows(stored, "secret.values.read", row)


def check(membership: Membership, row: SecretIndex, justification: Any) -> str:
    """The cleaned justification once every rule lets ``membership`` break glass on ``row``;
    PermissionDenied, ValidationError or ConflictError otherwise."""
    policy.require(membership, "breakglass.reveal", row)
    text = clean_justification(justification)
    if own_role_reads(membership, row):
        raise ConflictError(
            f"Your role reads the values of {row.name}: use the normal read "
            f"(GET /api/v1/orgs/{row.organization_id}/secrets/{row.secret_id} or the "
            "Reveal buttons of its page, with a token not limited below your role); "
            "break-glass is for values your role would not read."
        )
    if not allowed(membership.organization):
        raise PermissionDenied(
            f"{membership.organization.name} does not allow break-glass: an admin can turn it "
            "on in the organization's protection settings (breakGlass: true)."
        )
    return text


def reveal(
    *,
    membership: Membership,
    row: SecretIndex,
    justification: Any,
    base_url: str = "",
    now: datetime | None = None,
) -> Revealed:
    """Break glass on ``row``: its values, recorded, flagged and announced to every admin."""
    text = check(membership, row, justification)
    username = membership.user.username
    document = secret_values.reveal(
        standing=policy.System(f"break-glass by {username}"),
        row=row,
        purpose="break-glass",
        audit_read=False,
    )
    values = secret_values.values_of(document)
    when = now or timezone.now()
    with transaction.atomic():
        event = BreakGlass.objects.create(
            organization=row.organization,
            secret_id=row.secret_id,
            secret_name=row.name,
            user=membership.user,
            username=username,
            justification=text,
            created_at=when,
        )
        audit.record(
            actor=username,
            action=EVENT,
            organization=row.organization,
            target_type="secret",
            target_id=row.secret_id,
            target_name=row.name,
            version=document.version,
            fields=sorted(values),
            justification=text,
            breakGlass=event.pk,
        )
        announce(event, row, base_url)
    return Revealed(event=event, row=row, version=document.version, values=values)


def list_url(organization: Organization, base_url: str = "") -> str:
    path = reverse("governance:breakglass-list", args=[organization.pk])
    return f"{(settings.PUBLIC_URL or base_url).rstrip('/')}{path}"


def announce(event: BreakGlass, row: SecretIndex, base_url: str) -> None:
    """Every admin told at once: the org's notification targets that want the event (e-mail
    and signed webhooks, through the worker), and each admin by mail, except those whose
    address such a target already mails."""
    organization = event.organization
    subject = f"Break-glass: {event.username} revealed {event.secret_name}"
    notifications.notify(
        organization=organization,
        event=EVENT,
        subject=subject,
        detail={
            "secretId": row.secret_id,
            "secretName": row.name,
            "type": row.type,
            "actor": event.username,
        },
    )
    mailed = {
        address
        for target in notifications.target_list(organization=organization)
        if target.kind == NotificationTarget.Kind.EMAIL and target.wants(EVENT)
        for address in target.emails
    }
    admins = Membership.objects.filter(organization=organization, role=Role.ADMIN)
    for admin in admins.select_related("user").order_by("user__username"):
        address = address_of(admin.user)
        if not address or address.lower() in mailed:
            continue
        reporting.queue_mail(
            EmailMessage(
                subject=f"[Pipeline Secrets] [{organization.name}] {subject}",
                body=mail_body(event, list_url(organization, base_url)),
                to=[address],
            )
        )


def mail_body(event: BreakGlass, link: str) -> str:
    return (
        f"{event.username} broke glass in {event.organization.name} and revealed the values "
        f"of {event.secret_name}, which their role does not read, at "
        f"{event.created_at:%Y-%m-%d %H:%M:%S} UTC.\n\nTheir justification:\n\n"
        f"{event.justification}\n\nThe event stays flagged on the activity page until an "
        f"admin acknowledges it:\n\n{link}\n"
    )


# --------------------------------------------------------------------------- the list


def event_list(*, organization: Organization, open_only: bool = False) -> QuerySet[BreakGlass]:
    """The org's break-glass events, newest first (``open_only``: not yet acknowledged)."""
    found = BreakGlass.objects.for_org(organization)
    return found.filter(acknowledged_at__isnull=True) if open_only else found


def event_get(*, organization: Organization, event_id: int) -> BreakGlass:
    found = event_list(organization=organization).filter(pk=event_id).first()
    if found is None:
        raise NotFoundError(NOT_FOUND)
    return found


def acknowledge(
    *, membership: Membership, event_id: int, now: datetime | None = None
) -> BreakGlass:
    """Clear the flag of a break-glass event (admins); already acknowledged, it is kept."""
    policy.require(membership, "breakglass.acknowledge")
    organization = membership.organization
    event = event_get(organization=organization, event_id=event_id)
    if event.acknowledged_at is not None:
        return event
    when, who = now or timezone.now(), membership.user.username
    with transaction.atomic():
        # Conditional: of two admins acknowledging at once, the first one's stays.
        cleared = BreakGlass.objects.filter(pk=event.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=when, acknowledged_by=who
        )
        if not cleared:
            return event_get(organization=organization, event_id=event_id)
        event.acknowledged_at, event.acknowledged_by = when, who
        audit.record(
            actor=event.acknowledged_by,
            action=ACKNOWLEDGED,
            organization=organization,
            target_type="secret",
            target_id=event.secret_id,
            target_name=event.secret_name,
            username=event.username,
            breakGlass=event.pk,
        )
    return event
