"""Users, organizations, memberships with roles, and API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self, TypeVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from django.db.models import QuerySet


class User(AbstractUser):
    """A person who signs in; belongs to any number of organizations."""


class Role(models.TextChoices):
    """Roles in an organization, weakest first: each includes the ones before it."""

    VIEWER = "viewer", "Viewer"
    MEMBER = "member", "Member"
    ADMIN = "admin", "Admin"

    @classmethod
    def rank(cls, role: str) -> int:
        return [cls.VIEWER, cls.MEMBER, cls.ADMIN].index(cls(role))

    @classmethod
    def allows(cls, held: str, needed: str) -> bool:
        return cls.rank(held) >= cls.rank(needed)

    @classmethod
    def capped(cls, held: str, cap: str) -> str:
        """``held``, lowered to ``cap`` when ``cap`` is weaker; an empty ``cap`` is no cap."""
        if not cap or cls.rank(held) <= cls.rank(cap):
            return held
        return cap


ROLE_RULES: dict[str, str] = {
    Role.VIEWER: "Reads secret metadata (names, types, tags, versions) and installations.",
    Role.MEMBER: "Also creates, updates and deletes secrets, reads values, installs secrets.",
    Role.ADMIN: "Also manages members and clusters.",
}


class Organization(models.Model):
    """A tenant. Everything a user can see hangs off exactly one organization."""

    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


_Row = TypeVar("_Row", bound=models.Model)


class OrgScopedQuerySet(models.QuerySet[_Row]):
    """Rows of one organization. Every tenant object is fetched through ``for_org``;
    ``org_path`` is the lookup from the row to its organization."""

    org_path = "organization"

    def for_org(self, organization: Organization) -> Self:
        return self.filter(**{self.org_path: organization})


class MembershipQuerySet(OrgScopedQuerySet["Membership"]):
    pass


class Membership(models.Model):
    """A user's role in one organization; at most one per (user, organization)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="uniq_membership"),
        ]
        ordering = ["user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def for_user(self, user: User) -> ApiTokenQuerySet:
        return self.filter(user=user)

    def usable(self) -> QuerySet[ApiToken]:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A personal API token. Only the SHA-256 of the token is stored; it is shown once.

    Tokens are 256-bit random strings, so a fast hash is enough: brute force is hopeless and
    a slow password hasher would cost every API call hundreds of milliseconds.

    A token may be limited: to one ``organization`` (other orgs answer as to a non-member)
    and to a ``max_role`` (its role in an org is the lower of its user's role and this).
    Deleting the organization deletes the tokens limited to it, so a limit never lapses into
    no limit. Tokens never manage tokens: that needs a signed-in session.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="When set, the token works in this organization only.",
    )
    max_role = models.CharField(
        max_length=10,
        choices=Role.choices,
        blank=True,
        default="",
        help_text="When set, the token never acts above this role; empty means no limit.",
    )
    prefix = models.CharField(max_length=16, help_text="Start of the token, for recognising it")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_limited(self) -> bool:
        return self.organization_id is not None or bool(self.max_role)

    @property
    def is_active(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


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
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="audit_org_time"),
            models.Index(fields=["organization", "target_id"], name="audit_org_target"),
        ]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.target_name or self.target_id}"


class NotificationTargetQuerySet(OrgScopedQuerySet["NotificationTarget"]):
    pass


class NotificationTarget(models.Model):
    """Where an organization's notifications go: e-mail addresses or a webhook URL.

    A webhook's signing secret is stored encrypted (``orgs.notifications``), never in plain
    text; it is shown once, when the target is created. ``events`` narrows what is sent
    (empty: every event)."""

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="notification_targets"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=100)
    emails = models.JSONField(default=list, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    events = models.JSONField(default=list, blank=True)
    signing_secret_encrypted = models.TextField(blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = NotificationTargetQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def wants(self, event: str) -> bool:
        return not self.events or event in self.events


class NotificationDeliveryQuerySet(OrgScopedQuerySet["NotificationDelivery"]):
    pass


class NotificationDelivery(models.Model):
    """One notification for one target, and how sending it went.

    ``detail`` holds ids, names, versions and dates only (``orgs.notifications.SAFE_DETAIL``);
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
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["organization", "-created_at"], name="delivery_org_time"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.target_id} ({self.status})"
