"""Where an organization's notifications go, and each delivery (tables made by ``orgs``
before this app existed: their names stay)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from notifications.events import is_opt_in
from orgs.models import Organization, OrgScopedQuerySet


class NotificationTargetQuerySet(OrgScopedQuerySet["NotificationTarget"]):
    pass


class NotificationTarget(models.Model):
    """Where an organization's notifications go: e-mail addresses or a webhook URL.

    A webhook's signing secret is stored encrypted (``notifications.sending``), never in plain
    text; it is shown once, when the target is created or its secret replaced. ``events``
    narrows what is sent (empty: every event but the opt-in ones). A webhook's ``format``
    is the body it receives: the signed generic JSON, or a Slack-compatible message."""

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"

    class Format(models.TextChoices):
        GENERIC = "generic", "Generic JSON (signed)"
        SLACK = "slack", 'Slack-compatible ({"text": …, "blocks": …})'

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="notification_targets"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=100)
    emails = models.JSONField(default=list, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    events = models.JSONField(default=list, blank=True)
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.GENERIC)
    signing_secret_encrypted = models.TextField(blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = NotificationTargetQuerySet.as_manager()

    class Meta:
        db_table = "orgs_notificationtarget"
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def wants(self, event: str) -> bool:
        if self.events:
            return event in self.events
        return not is_opt_in(event)


class NotificationDeliveryQuerySet(OrgScopedQuerySet["NotificationDelivery"]):
    pass


class NotificationDelivery(models.Model):
    """One notification for one target, and how sending it went.

    ``detail`` holds ids, names, versions and dates only (``notifications.services.SAFE_DETAIL``);
    the response body of a webhook is never kept, only its status code. A delivery is worked
    on by one runner at a time: it is claimed (``sending`` with a lease) by a conditional
    UPDATE before it is sent."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        DELIVERED = "delivered"
        FAILED = "failed"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="notification_deliveries"
    )
    target = models.ForeignKey(
        NotificationTarget, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40)
    subject = models.CharField(max_length=200)
    detail = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationDeliveryQuerySet.as_manager()

    class Meta:
        db_table = "orgs_notificationdelivery"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["organization", "-created_at"], name="delivery_org_time"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.target_id} ({self.status})"

    @property
    def awaited(self) -> bool:
        """Its first attempt is still to come, or an attempt is under way."""
        if self.status == self.Status.SENDING:
            return True
        return self.status == self.Status.PENDING and self.attempts == 0
