"""The searchable index of secret metadata. Values never live here.

Vault holds the authoritative document ``{name, type, values, tags, updatedBy}``; this
table mirrors its metadata so lists and tag queries never scan Vault. It can be rebuilt
from Vault at any time (``manage.py rebuild_secret_index``).
"""

from __future__ import annotations

from django.db import models

from orgs.models import Organization, OrgScopedQuerySet


class SecretIndexQuerySet(OrgScopedQuerySet["SecretIndex"]):
    pass


class SecretIndex(models.Model):
    """One row per secret: ``secret_id`` is the hex SHA-256 of ``name``, unique per org."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="secrets")
    secret_id = models.CharField(max_length=64)
    name = models.CharField(max_length=253)
    type = models.CharField(max_length=32)
    tags = models.JSONField(default=list)
    # The names of the values (never the values): lists show them masked without Vault.
    keys = models.JSONField(default=list)
    version = models.PositiveIntegerField()
    updated_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = SecretIndexQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "secret_id"], name="uniq_secret_per_org"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "name"], name="secret_org_name"),
            models.Index(fields=["organization", "type", "name"], name="secret_org_type"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"


class SecretTag(models.Model):
    """One row per (secret, tag), so "all these tags" is an indexed lookup per tag."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    secret = models.ForeignKey(SecretIndex, on_delete=models.CASCADE, related_name="tag_rows")
    tag = models.CharField(max_length=128)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["secret", "tag"], name="uniq_tag_per_secret"),
        ]
        indexes = [models.Index(fields=["organization", "tag"], name="tag_org_tag")]

    def __str__(self) -> str:
        return self.tag


class SecretLifecycleQuerySet(OrgScopedQuerySet["SecretLifecycle"]):
    pass


class SecretLifecycle(models.Model):
    """When a secret is next rotated or renewed, and how the last attempt went. Never a value.

    A row exists for a secret with a rotation schedule, a certificate that can be renewed
    here, or an expiry that was announced. Invariants:

    - ``next_rotation_at`` is set exactly when ``rotate_every`` is;
    - ``renew_at`` is the moment the secret's certificates next need the renewal job (its
      type's ``renewal_due``), None when nothing can be renewed here;
    - a periodic runner works on a row only after claiming it with a conditional UPDATE that
      moves ``claimed_until`` into the future, so concurrent runners process each due item
      once; finishing an item clears the claim in the same UPDATE that moves its due time.
    """

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    secret = models.OneToOneField(SecretIndex, on_delete=models.CASCADE, related_name="lifecycle")
    rotate_every = models.DurationField(null=True, blank=True)
    next_rotation_at = models.DateTimeField(null=True, blank=True, db_index=True)
    renew_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The expiry last announced ("secret.expiring"), so each is announced once.
    expiry_notified_for = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_rotated_at = models.DateTimeField(null=True, blank=True)
    last_rotated_by = models.CharField(max_length=150, blank=True)
    # A safe message (ids, names, versions, reasons), never a value.
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    objects = SecretLifecycleQuerySet.as_manager()

    def __str__(self) -> str:
        return f"lifecycle of secret {self.secret_id}"
