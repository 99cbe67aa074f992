"""Writes for organizations, memberships, API tokens and directory links (invitations are
in ``orgs.invitations``). Who may act on whom is decided by ``orgs.consent``."""

from __future__ import annotations

import secrets
from datetime import datetime
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from orgs import consent, providers, reporting
from orgs.authentication import hash_token
from orgs.models import (
    ApiToken,
    GitHubLink,
    GroupMapping,
    Membership,
    Organization,
    Role,
    SetupClaim,
    Source,
    User,
)
from orgs.selectors import member_get
from pipeline_secrets.core.errors import ConflictError, NotFoundError


def validate_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; choose one of {Role.values}."})


@transaction.atomic
def organization_create(*, actor: User, name: str, operator: bool = False) -> Organization:
    """A new organization whose creator is its first admin (a membership of source
    ``creator``). Refused (PermissionDenied) to whoever ``ORG_CREATION`` does not allow,
    unless the operator's own tooling asks (``operator``: the first run, ``bootstrap``)."""
    if not operator:
        consent.require_org_creation(actor)
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
    Membership.objects.create(
        user=actor, organization=organization, role=Role.ADMIN, source=Source.CREATOR
    )
    reporting.audit(
        actor=actor.username,
        action="org.create",
        organization=organization,
        target_type="organization",
        target_id=organization.pk,
        target_name=organization.name,
    )
    return organization


def audit_member(actor: User, action: str, membership: Membership) -> None:
    reporting.audit(
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
    validate_role(role)
    membership = member_get(organization=organization, user_id=user_id)
    if role != Role.ADMIN:
        _ensure_another_admin(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    audit_member(actor, "member.role", membership)
    return membership


@transaction.atomic
def member_remove(*, actor: User, organization: Organization, user_id: int) -> None:
    membership = member_get(organization=organization, user_id=user_id)
    _ensure_another_admin(membership)
    audit_member(actor, "member.remove", membership)
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
    organization_create(actor=user, name=organization_name, operator=True)
    return user


def _token_organization(user: User, organization_id: int | None) -> Organization | None:
    """The organization a token is limited to: one of the user's, or none."""
    if organization_id is None:
        return None
    membership = (
        Membership.objects.select_related("organization")
        .filter(user=user, organization_id=organization_id)
        .first()
    )
    if membership is None:
        raise ValidationError({"organization": "You are not a member of that organization."})
    return membership.organization


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
    organization = _token_organization(user, organization_id)
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
    reporting.audit(
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
        reporting.audit(
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
    validate_role(default_role)
    for slug, role in team_roles.items():
        if not slug or role not in Role.values:
            raise ValidationError({"team_roles": f"Unknown role {role!r} for team {slug!r}."})
    if github_org and not all(c.isalnum() or c == "-" for c in github_org):
        raise ValidationError({"github_org": "A GitHub organization name: letters, digits, -."})
    if github_org and not consent.github_org_trusted(github_org):
        raise ValidationError(
            {
                "github_org": f"The operator does not allow linking the GitHub organization "
                f"{github_org!r} here (GITHUB_TRUSTED_ORGS)."
            }
        )
    GitHubLink.objects.filter(organization=organization).delete()
    link = None
    if github_org:
        link = GitHubLink.objects.create(
            organization=organization,
            github_org=github_org,
            default_role=default_role,
            team_roles=team_roles,
        )
    reporting.audit(
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
    if not consent.group_trusted(group):
        raise ValidationError(
            {
                "group": f"The operator does not allow mapping the directory group {group!r} "
                "here (LDAP_TRUSTED_GROUPS)."
            }
        )
    validate_role(role)
    mapping, _ = GroupMapping.objects.update_or_create(
        organization=organization, group=group, defaults={"role": role}
    )
    reporting.audit(
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
    reporting.audit(
        actor=actor.username,
        action="org.group_unmap",
        organization=organization,
        target_type="group",
        target_id=mapping.pk,
        target_name=mapping.group,
        role=mapping.role,
    )
    mapping.delete()
