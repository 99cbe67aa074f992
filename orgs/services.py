"""Writes for organizations, memberships and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from orgs import audit, providers
from orgs.authentication import hash_token
from orgs.models import (
    ApiToken,
    GitHubLink,
    GroupMapping,
    Invitation,
    Membership,
    Organization,
    Role,
    SetupClaim,
    Source,
    User,
)
from orgs.selectors import member_get
from pipeline_secrets.core.errors import ConflictError, NotFoundError


def _validate_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; choose one of {Role.values}."})


@transaction.atomic
def organization_create(*, actor: User, name: str) -> Organization:
    """A new organization whose creator is its first admin."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "This field may not be blank."})
    if not name.isprintable():
        raise ValidationError({"name": "Must not contain control characters."})
    if Organization.objects.filter(name__iexact=name).exists():
        raise ConflictError(f"An organization named {name!r} already exists.")
    try:
        with transaction.atomic():
            organization = Organization.objects.create(name=name)
    except IntegrityError:
        raise ConflictError(f"An organization named {name!r} already exists.") from None
    Membership.objects.create(user=actor, organization=organization, role=Role.ADMIN)
    audit.record(
        actor=actor.username,
        action="org.create",
        organization=organization,
        target_type="organization",
        target_id=organization.pk,
        target_name=organization.name,
    )
    return organization


@transaction.atomic
def member_add(*, actor: User, organization: Organization, username: str, role: str) -> Membership:
    _validate_role(role)
    user = User.objects.filter(username=username).first()
    if user is None:
        raise ValidationError({"username": f"No user named {username!r}."})
    membership, created = Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"role": role}
    )
    if not created:
        raise ConflictError(f"{username} is already a member of {organization.name}.")
    _audit_member(actor, "member.add", membership)
    return membership


def _audit_member(actor: User, action: str, membership: Membership) -> None:
    audit.record(
        actor=actor.username,
        action=action,
        organization=membership.organization,
        target_type="member",
        target_id=membership.user_id,
        target_name=membership.user.username,
        role=membership.role,
    )


def _ensure_another_admin(membership: Membership) -> None:
    """An organization always keeps at least one admin."""
    if membership.role != Role.ADMIN:
        return
    admins = (
        Membership.objects.for_org(membership.organization)
        .select_for_update()
        .filter(role=Role.ADMIN)
        .exclude(pk=membership.pk)
    )
    if not admins.exists():
        raise ConflictError("An organization needs at least one admin; promote another first.")


@transaction.atomic
def member_change_role(
    *, actor: User, organization: Organization, user_id: int, role: str
) -> Membership:
    _validate_role(role)
    membership = member_get(organization=organization, user_id=user_id)
    if role != Role.ADMIN:
        _ensure_another_admin(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    _audit_member(actor, "member.role", membership)
    return membership


@transaction.atomic
def member_remove(*, actor: User, organization: Organization, user_id: int) -> None:
    membership = member_get(organization=organization, user_id=user_id)
    _ensure_another_admin(membership)
    _audit_member(actor, "member.remove", membership)
    membership.delete()


@transaction.atomic
def first_admin_create(*, username: str, password: str, organization_name: str) -> User:
    """The first account of a fresh installation: an admin of a new organization.

    Only while no user exists at all; afterwards people are added by admins.
    """
    if User.objects.exists():
        raise ConflictError("This installation already has accounts; sign in instead.")
    # Two first-run submissions at once: the second insert waits for the first transaction
    # and then fails on the primary key, so only one admin is ever made.
    try:
        with transaction.atomic():
            SetupClaim.objects.create(pk=1)
    except IntegrityError:
        raise ConflictError("This installation already has accounts; sign in instead.") from None
    username = username.strip()
    if not username:
        raise ValidationError({"username": "This field may not be blank."})
    user = User(username=username, is_staff=True, is_superuser=True)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.save()
    organization_create(actor=user, name=organization_name)
    return user


def token_create(
    *,
    user: User,
    name: str,
    expires_at: datetime | None = None,
    organization_id: int | None = None,
    max_role: str = "",
) -> tuple[ApiToken, str]:
    """A new token and its raw value. The raw value is returned here and never again.

    ``organization_id`` limits the token to one of the user's organizations; ``max_role``
    (empty: none) caps its role in every organization it works in.
    """
    name = name.strip()
    if not name:
        raise ValidationError({"name": "This field may not be blank."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expiresAt": "The expiry must be in the future."})
    if max_role and max_role not in Role.values:
        raise ValidationError(
            {"maxRole": f"Unknown role {max_role!r}; choose one of {Role.values}."}
        )
    organization = None
    if organization_id is not None:
        membership = (
            Membership.objects.select_related("organization")
            .filter(user=user, organization_id=organization_id)
            .first()
        )
        if membership is None:
            raise ValidationError({"organization": "You are not a member of that organization."})
        organization = membership.organization
    raw = settings.API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    source, origin = providers.token_origin(user=user, organization=organization)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[: len(settings.API_TOKEN_PREFIX) + 6],
        token_hash=hash_token(raw),
        expires_at=expires_at,
        organization=organization,
        max_role=max_role,
        provider_source=source,
        provider_membership=origin,
    )
    audit.record(
        actor=user.username,
        action="token.create",
        target_type="token",
        target_id=token.pk,
        target_name=name,
    )
    return token, raw


def token_revoke(*, user: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.for_user(user).filter(pk=token_id).first()
    if token is None:
        raise NotFoundError("Token not found.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            actor=user.username,
            action="token.revoke",
            target_type="token",
            target_id=token.pk,
            target_name=token.name,
        )
    return token


def end_other_sessions(*, user: User, keep: str | None) -> int:
    """Delete every stored session of ``user`` except ``keep``; returns how many ended.

    Django already refuses a session whose password hash is stale, but only when it is next
    used; deleting the sessions ends them at once. Sessions are not indexed by user, so the
    live ones are decoded one by one: cheap at this product's scale. Session engines without
    a database table (cache, signed cookies) fall back to Django's stale-hash check.
    """
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store_class, "get_model_class"):
        return 0
    live = (
        store_class.get_model_class()
        .objects.filter(expire_date__gt=timezone.now())
        .exclude(session_key=keep or "")
    )
    ended = 0
    for session in live.iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            store_class(session.session_key).delete()  # also clears a cached copy
            ended += 1
    return ended


# --------------------------------------------------------------------------- invitations


def invitation_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def invitation_create(
    *, actor: User, organization: Organization, email: str, role: str, base_url: str
) -> tuple[Invitation, str]:
    """Invite ``email`` with ``role`` and mail it a single-use link under ``base_url``.
    Returns the invitation and the raw link token (which is kept nowhere else)."""
    email = email.strip()
    _validate_role(role)
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address."}) from None
    pending = Invitation.objects.for_org(organization).filter(
        email__iexact=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    if pending.exists():
        raise ConflictError(f"{email} already has a pending invitation; revoke it first.")
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            organization=organization,
            email=email,
            role=role,
            token_hash=invitation_hash(raw),
            invited_by=actor.username,
            expires_at=timezone.now() + timedelta(days=settings.INVITATION_DAYS),
        )
        audit.record(
            actor=actor.username,
            action="invitation.send",
            organization=organization,
            target_type="invitation",
            target_id=invitation.pk,
            target_name=email,
            role=role,
        )
    link = f"{settings.PUBLIC_URL or base_url.rstrip('/')}/invites/{raw}/"
    send_mail(
        subject=f"[Pipeline Secrets] {actor.username} invites you to {organization.name}",
        message=(
            f"{actor.username} invites you to the organization {organization.name} on "
            f"Pipeline Secrets, as {role}.\n\nOpen this link to accept; it works once, "
            f"until {invitation.expires_at:%Y-%m-%d %H:%M} UTC:\n\n{link}\n\n"
            "If you did not expect this, ignore this message.\n"
        ),
        from_email=None,
        recipient_list=[email],
    )
    return invitation, raw


def invitation_revoke(*, actor: User, organization: Organization, invitation_id: int) -> None:
    with transaction.atomic():
        invitation = (
            Invitation.objects.for_org(organization)
            .select_for_update()
            .filter(pk=invitation_id)
            .first()
        )
        if invitation is None:
            raise NotFoundError("Invitation not found.")
        if invitation.state != Invitation.State.PENDING:
            raise ConflictError(f"This invitation is {invitation.state}; it cannot be revoked.")
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit.record(
            actor=actor.username,
            action="invitation.revoke",
            organization=organization,
            target_type="invitation",
            target_id=invitation.pk,
            target_name=invitation.email,
            role=invitation.role,
        )


def invitation_for_token(raw: str) -> Invitation | None:
    """The invitation a link token belongs to, whatever its state, or None."""
    if not raw or len(raw) > 100:
        return None
    return (
        Invitation.objects.select_related("organization")
        .filter(token_hash=invitation_hash(raw))
        .first()
    )


@transaction.atomic
def invitation_accept(*, user: User, raw: str) -> Membership:
    """Make ``user`` a member with the invited role; the link is used up."""
    found = invitation_for_token(raw)
    if found is None:
        raise NotFoundError("This invitation link is not valid.")
    invitation = Invitation.objects.select_for_update().get(pk=found.pk)
    if invitation.state != Invitation.State.PENDING:
        raise ConflictError(f"This invitation is {invitation.state}.")
    if Membership.objects.filter(user=user, organization_id=invitation.organization_id).exists():
        raise ConflictError(f"You are already a member of {found.organization.name}.")
    membership = Membership.objects.create(
        user=user,
        organization=found.organization,
        role=invitation.role,
        source=Source.INVITATION,
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    audit.record(
        actor=user.username,
        action="invitation.accept",
        organization=found.organization,
        target_type="invitation",
        target_id=invitation.pk,
        target_name=invitation.email,
        role=invitation.role,
    )
    _audit_member(user, "member.add", membership)
    return membership


# --------------------------------------------------------------------------- directory links


@transaction.atomic
def github_link_set(
    *,
    actor: User,
    organization: Organization,
    github_org: str,
    default_role: str,
    team_roles: dict[str, str],
) -> GitHubLink | None:
    """Link the organization to a GitHub organization (an empty name removes the link)."""
    github_org = github_org.strip()
    _validate_role(default_role)
    for slug, role in team_roles.items():
        if not slug or role not in Role.values:
            raise ValidationError({"team_roles": f"Unknown role {role!r} for team {slug!r}."})
    if github_org and not all(c.isalnum() or c == "-" for c in github_org):
        raise ValidationError({"github_org": "A GitHub organization name: letters, digits, -."})
    GitHubLink.objects.filter(organization=organization).delete()
    link = None
    if github_org:
        link = GitHubLink.objects.create(
            organization=organization,
            github_org=github_org,
            default_role=default_role,
            team_roles=team_roles,
        )
    audit.record(
        actor=actor.username,
        action="org.github_link",
        organization=organization,
        target_type="organization",
        target_id=organization.pk,
        target_name=github_org or "(none)",
        role=default_role,
    )
    return link


@transaction.atomic
def group_mapping_set(
    *, actor: User, organization: Organization, group: str, role: str
) -> GroupMapping:
    group = group.strip()
    if not group:
        raise ValidationError({"group": "This field may not be blank."})
    if len(group) > 200 or not group.isprintable():
        raise ValidationError({"group": "At most 200 printable characters."})
    _validate_role(role)
    mapping, _ = GroupMapping.objects.update_or_create(
        organization=organization, group=group, defaults={"role": role}
    )
    audit.record(
        actor=actor.username,
        action="org.group_mapping",
        organization=organization,
        target_type="group",
        target_id=mapping.pk,
        target_name=group,
        role=role,
    )
    return mapping


@transaction.atomic
def group_mapping_delete(*, actor: User, organization: Organization, mapping_id: int) -> None:
    mapping = GroupMapping.objects.for_org(organization).filter(pk=mapping_id).first()
    if mapping is None:
        raise NotFoundError("Group mapping not found.")
    audit.record(
        actor=actor.username,
        action="org.group_unmap",
        organization=organization,
        target_type="group",
        target_id=mapping.pk,
        target_name=mapping.group,
        role=mapping.role,
    )
    mapping.delete()
