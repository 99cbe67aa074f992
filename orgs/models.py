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

    @property
    def identity_sources(self) -> list[str]:
        """How this person signs in: a local password, GitHub, LDAP."""
        sources = ["password"] if self.has_usable_password() else []
        if self.socialaccount_set.filter(provider="github").exists():  # type: ignore[attr-defined]
            sources.append("GitHub")
        if self.oidc_identities.exists():  # type: ignore[attr-defined]
            sources.append("LDAP")
        return sources

    @property
    def provider_source(self) -> str:
        """``github`` or ``ldap`` when this account's identity is that provider's alone (no
        usable local password; the identities are kept by allauth and ``accounts``), else
        empty."""
        if self.has_usable_password():
            return ""
        if self.socialaccount_set.filter(provider="github").exists():  # type: ignore[attr-defined]
            return Source.GITHUB
        if self.oidc_identities.exists():  # type: ignore[attr-defined]
            return Source.LDAP
        return ""


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
    source = models.CharField(
        max_length=12,
        blank=True,
        default="",
        choices=[
            ("", "admin"),
            ("creator", "creating it"),
            ("invitation", "invitation"),
            ("github", "GitHub organization"),
            ("ldap", "LDAP group"),
        ],
    )
    # A GitHub or LDAP membership: when that provider last confirmed it (accounts.providers).
    provider_checked_at = models.DateTimeField(null=True, blank=True)
    # In memory only (never saved): the role an API token caps this membership to
    # (``orgs.scoping.cap_to_token``); a temporary grant never lifts it above this.
    token_cap: str = ""

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
    # Minted under a GitHub or LDAP membership: that source and membership (null once it
    # ended), and when the token last re-checked it (accounts.providers.check_token).
    provider_source = models.CharField(max_length=12, blank=True, default="")
    provider_membership = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    provider_checked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    # Set by authentication (accounts.authentication): (orgId of the URL, the user's
    # membership of it or None), read with the token and judged against the token's
    # provider there, so that orgs.scoping need not ask again.
    membership_of: tuple[int | None, Membership | None] | None = None

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


class Source(models.TextChoices):
    """Where a membership comes from: synchronised ones are added and removed at sign-in."""

    MANUAL = "", "Added by an admin"
    CREATOR = "creator", "Creator of the organization"
    INVITATION = "invitation", "Invitation"
    GITHUB = "github", "GitHub organization"
    LDAP = "ldap", "LDAP group"


class InvitationQuerySet(OrgScopedQuerySet["Invitation"]):
    pass


class Invitation(models.Model):
    """A mailed single-use link, accepted only by an account with a verified address equal to
    ``email`` (or by ``invitee``, when sent to an account). Only the token's SHA-256 is kept."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The existing account invited by its username: only it may accept.
    invitee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization} ({self.role})"

    @property
    def state(self) -> str:
        if self.accepted_at is not None:
            return self.State.ACCEPTED
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.expires_at <= timezone.now():
            return self.State.EXPIRED
        return self.State.PENDING
