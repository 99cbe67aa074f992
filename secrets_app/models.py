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
