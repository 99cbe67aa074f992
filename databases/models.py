"""Database connections of an organization, their roles, and the credentials issued from
them (leases) and installed from them (installs).

Nothing secret is kept here: a connection's root password went to OpenBao's database engine,
an issued password to its caller (or into the managed secret of an install, in Vault).
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from clusters.models import Cluster
from orgs.models import Organization, OrgScopedQuerySet


class ConnectionQuerySet(OrgScopedQuerySet["DatabaseConnection"]):
    pass


class DatabaseConnection(models.Model):
    """A database the org's roles issue users in; the engine holds its root credential."""

    class Engine(models.TextChoices):
        POSTGRESQL = "postgresql"
        MYSQL = "mysql"

    class TlsMode(models.TextChoices):
        DISABLE = "disable"
        REQUIRE = "require"
        VERIFY_FULL = "verify-full"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="database_connections"
    )
    name = models.CharField(max_length=63)
    engine = models.CharField(max_length=16, choices=Engine.choices)
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField()
    database = models.CharField(max_length=63)
    username = models.CharField(max_length=63)
    tls_mode = models.CharField(max_length=16, choices=TlsMode.choices, default=TlsMode.REQUIRE)
    root_rotated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ConnectionQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="database_connection_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def vault_name(self) -> str:
        """Its name in the engine: the org's id and its own, nothing a tenant typed."""
        return f"o{self.organization_id}-c{self.pk}"


class RoleQuerySet(OrgScopedQuerySet["DatabaseRole"]):
    pass


class DatabaseRole(models.Model):
    """What a user issued on a connection may do (a preset's statements or custom ones),
    and how long it lives."""

    class Preset(models.TextChoices):
        READ_ONLY = "read-only"
        READ_WRITE = "read-write"
        OWNER = "owner"
        CUSTOM = "custom"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="database_roles"
    )
    connection = models.ForeignKey(
        DatabaseConnection, on_delete=models.CASCADE, related_name="roles"
    )
    name = models.CharField(max_length=63)
    preset = models.CharField(max_length=16, choices=Preset.choices)
    # The schema (PostgreSQL) the presets grant on; MySQL grants on the connection's database.
    schema = models.CharField(max_length=63, blank=True)
    creation_statements = models.JSONField(default=list, blank=True)
    revocation_statements = models.JSONField(default=list, blank=True)
    default_ttl = models.PositiveIntegerField()
    max_ttl = models.PositiveIntegerField()
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = RoleQuerySet.as_manager()

    class Meta:
        ordering = ["connection__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "name"], name="database_role_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.connection.name}/{self.name}"

    @property
    def vault_name(self) -> str:
        return f"o{self.organization_id}-r{self.pk}"


def new_public_id() -> str:
    return secrets.token_hex(12)


class LeaseQuerySet(OrgScopedQuerySet["DatabaseLease"]):
    def live(self, now: object = None) -> LeaseQuerySet:
        return self.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


class DatabaseLease(models.Model):
    """A credential issued by the engine: who asked, for what, until when. Its password is
    never stored; ``vault_lease_id`` never leaves the server (``public_id`` names it)."""

    class Purpose(models.TextChoices):
        ISSUE = "issue"
        INSTALL = "install"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="database_leases"
    )
    role = models.ForeignKey(DatabaseRole, on_delete=models.CASCADE, related_name="leases")
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id)
    vault_lease_id = models.CharField(max_length=255)
    username = models.CharField(max_length=128)
    issued_by = models.CharField(max_length=150)
    purpose = models.CharField(max_length=8, choices=Purpose.choices, default=Purpose.ISSUE)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    max_expires_at = models.DateTimeField()
    renewed_at = models.DateTimeField(null=True, blank=True)
    # A replaced install lease is revoked once this has passed (its grace period).
    revoke_after = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)
    install = models.ForeignKey(
        "DatabaseInstall", null=True, blank=True, on_delete=models.SET_NULL, related_name="leases"
    )

    objects = LeaseQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-pk"]
        indexes = [models.Index(fields=["revoked_at", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.username} ({self.public_id})"


class InstallQuerySet(OrgScopedQuerySet["DatabaseInstall"]):
    pass


class DatabaseInstall(models.Model):
    """A role installed into a cluster namespace: a managed secret (``secret_id``) holding
    the current credentials, installed like any secret, renewed and replaced by the worker."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        FAILED = "failed"
        REMOVED = "removed"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="database_installs"
    )
    role = models.ForeignKey(DatabaseRole, on_delete=models.CASCADE, related_name="installs")
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="database_installs")
    namespace = models.CharField(max_length=63)
    secret_id = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    last_error = models.TextField(blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    replaced_at = models.DateTimeField(null=True, blank=True)

    objects = InstallQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "secret_id"], name="database_install_secret_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.role} in {self.namespace}"

    def current_lease(self) -> DatabaseLease | None:
        return self.leases.filter(revoked_at__isnull=True, revoke_after__isnull=True).first()
