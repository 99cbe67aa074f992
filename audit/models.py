"""The audit trail's one table (made by ``orgs`` before this app existed: its name stays)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from orgs.models import Organization


class AuditEvent(models.Model):
    """Who did what to which object, and when. Never a secret value: ``detail`` holds ids,
    names, versions, roles and field names only."""

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=40)
    target_type = models.CharField(max_length=20)
    target_id = models.CharField(max_length=64, blank=True)
    target_name = models.CharField(max_length=253, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "orgs_auditevent"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="audit_org_time"),
            models.Index(fields=["organization", "target_id"], name="audit_org_target"),
        ]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.target_name or self.target_id}"
