"""Governance of an organization's secrets: which are protected and the change requests
that hold their changes, temporary access (requests and grants), break-glass reveals and
one-time share links.

No value is kept here: a held change's values wait in Vault, a shared value in a
response-wrapped token that only the link's holder has.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from orgs.models import Organization, OrgScopedQuerySet, Role


def new_public_id() -> str:
    return secrets.token_hex(12)


class Protection(models.Model):
    """An organization's protection rule: the secrets (by tag or id) whose changes wait for
    approvals, how many, and what scheduled work and break-glass may do."""

    class Scheduled(models.TextChoices):
        ALLOW = "allow"
        HOLD = "hold"

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="protection"
    )
    tags = models.JSONField(default=list, blank=True)
    secrets = models.JSONField(default=list, blank=True)
    required_approvals = models.PositiveSmallIntegerField(default=1)
    scheduled_rotation = models.CharField(
        max_length=5, choices=Scheduled.choices, default=Scheduled.ALLOW
    )
    break_glass = models.BooleanField(default=False)
    updated_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"protection of {self.organization}"


class ChangeRequestQuerySet(OrgScopedQuerySet["ChangeRequest"]):
    pass


class ChangeRequest(models.Model):
    """A change to a protected secret, held until enough admins other than its requester
    approve it. ``proposal`` holds what changes besides values (tags, the keys added,
    removed and changed, a rollback's version, an install's target); the proposed values
    wait in Vault at ``held_path``."""

    class Kind(models.TextChoices):
        UPDATE = "update"
        ROTATE = "rotate"
        ROLLBACK = "rollback"
        DELETE = "delete"
        TAG = "tag"
        INSTALL = "install"

    class Status(models.TextChoices):
        PENDING = "pending"
        APPLIED = "applied"
        REJECTED = "rejected"
        WITHDRAWN = "withdrawn"
        EXPIRED = "expired"
        FAILED = "failed"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="change_requests"
    )
    secret_id = models.CharField(max_length=64)
    secret_name = models.CharField(max_length=253)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.CharField(max_length=150)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    base_version = models.PositiveIntegerField(default=0)
    proposal = models.JSONField(default=dict, blank=True)
    held_path = models.CharField(max_length=255, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)
    applied_version = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    objects = ChangeRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return f"{self.kind} of {self.secret_name} (#{self.pk})"


class Approval(models.Model):
    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.CASCADE, related_name="approvals"
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    approved_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["change_request", "approver"], name="approval_once_per_admin"
            )
        ]

    def __str__(self) -> str:
        return f"{self.approved_by} approved #{self.change_request_id}"


class AccessRequestQuerySet(OrgScopedQuerySet["AccessRequest"]):
    pass


class AccessRequest(models.Model):
    """A member's (or viewer's) ask for a higher role, on a secret, a tag or the whole org
    (neither given), for a stated time and reason."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"
        WITHDRAWN = "withdrawn"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="access_requests"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=10, choices=Role.choices)
    secret_id = models.CharField(max_length=64, blank=True)
    tag = models.CharField(max_length=128, blank=True)
    duration_seconds = models.PositiveIntegerField()
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=150, blank=True)

    objects = AccessRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user} asks for {self.role}"


class AccessGrantQuerySet(OrgScopedQuerySet["AccessGrant"]):
    def live(self, now: object) -> AccessGrantQuerySet:
        """Grants in force at ``now``: the policy asks this at use, so a grant ends at its
        expiry without any job running."""
        return self.filter(revoked_at__isnull=True, starts_at__lte=now, expires_at__gt=now)


class AccessGrant(models.Model):
    """A role held for a while: on one secret, on the secrets with one tag, or (neither) on
    the whole organization."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="access_grants"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=10, choices=Role.choices)
    secret_id = models.CharField(max_length=64, blank=True)
    tag = models.CharField(max_length=128, blank=True)
    reason = models.TextField(blank=True)
    granted_by = models.CharField(max_length=150)
    request = models.ForeignKey(
        AccessRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="grants"
    )
    starts_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)

    objects = AccessGrantQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-pk"]
        indexes = [models.Index(fields=["organization", "user", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.role} for {self.user} until {self.expires_at:%Y-%m-%d %H:%M}"


class BreakGlassQuerySet(OrgScopedQuerySet["BreakGlass"]):
    pass


class BreakGlass(models.Model):
    """A reveal of values by someone whose role would not read them, with a justification;
    flagged until an admin acknowledges it."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="break_glass_events"
    )
    secret_id = models.CharField(max_length=64)
    secret_name = models.CharField(max_length=253)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)
    justification = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=150, blank=True)

    objects = BreakGlassQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"break-glass on {self.secret_name} by {self.username}"


class ShareLinkQuerySet(OrgScopedQuerySet["ShareLink"]):
    pass


class ShareLink(models.Model):
    """A one-time link to a value: the value is response-wrapped in Vault and only the
    link's holder has the wrapping token; this row keeps its accessor (which can look the
    token up or revoke it, never unwrap it) and what happened to it."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="share_links"
    )
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id)
    secret_id = models.CharField(max_length=64)
    secret_name = models.CharField(max_length=253)
    fields = models.JSONField(default=list, blank=True)
    wrap_accessor = models.CharField(max_length=128)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    opened_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"share of {self.secret_name} ({self.public_id})"
