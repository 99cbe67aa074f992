"""What sign-in keeps: an organization's links to GitHub and to directory groups, the OpenID
Connect identities of users, and the first run's claim (tables made by ``orgs`` before this
app existed: their names stay)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from orgs.models import ApiToken, Organization, OrgScopedQuerySet, Role, User


class GitHubLink(models.Model):
    """A product organization fed by the members of one GitHub organization.

    ``team_roles`` maps a team's slug to a role; members in none of those teams get
    ``default_role``. At most one link per product organization.
    """

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="github_link"
    )
    github_org = models.CharField(max_length=100)
    default_role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    team_roles = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "orgs_githublink"

    def __str__(self) -> str:
        return f"{self.organization} <- github:{self.github_org}"


class GroupMappingQuerySet(OrgScopedQuerySet["GroupMapping"]):
    pass


class GroupMapping(models.Model):
    """Members of the directory group ``group`` (the OIDC ``groups`` claim) get ``role`` here."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="group_mappings"
    )
    group = models.CharField(max_length=200)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)

    objects = GroupMappingQuerySet.as_manager()

    class Meta:
        db_table = "orgs_groupmapping"
        ordering = ["group"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "group"], name="uniq_group_mapping"),
        ]

    def __str__(self) -> str:
        return f"{self.group} -> {self.role} in {self.organization}"


class OidcIdentity(models.Model):
    """A user's identity at the OpenID Connect provider: (issuer, subject) is the key, never
    the email address."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="oidc_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "orgs_oidcidentity"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="uniq_oidc_identity"),
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.issuer}"


class SetupClaim(models.Model):
    """The one row the first-run setup inserts: two simultaneous setups cannot both commit."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "orgs_setupclaim"

    def __str__(self) -> str:
        return f"first run at {self.created_at:%Y-%m-%d %H:%M}"


class DeviceCode(models.Model):
    """A command-line sign-in waiting for a person's confirmation on the dashboard.

    The client holds the device code (only its SHA-256 is kept here) and shows the short
    ``user_code``; the person enters that code on the dashboard and chooses the token's
    limits (organization, highest role, expiry). The token is made when the client next
    polls, so its raw value is never stored.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for confirmation"
        APPROVED = "approved", "Confirmed"
        DENIED = "denied", "Denied"
        DELIVERED = "delivered", "Token delivered"

    user_code = models.CharField(max_length=9, unique=True)
    device_code_hash = models.CharField(max_length=64, unique=True)
    client_name = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    max_role = models.CharField(max_length=10, choices=Role.choices, blank=True, default="")
    token_expires_at = models.DateTimeField(null=True, blank=True)
    token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"device sign-in {self.user_code} ({self.status})"
