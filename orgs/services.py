"""Writes for organizations, memberships and API tokens (invitations are in
``orgs.invitations``, sign-in's links in ``accounts.services``). Who may act on whom is
decided by ``orgs.consent``."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from orgs import consent, reporting
from orgs.models import ApiToken, Membership, Organization, Role, Source, User
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


def hash_token(raw: str) -> str:
    """What is kept of an API token: its SHA-256 (a 256-bit random token needs no slow hash)."""
    return hashlib.sha256(raw.encode()).hexdigest()


PROVIDER_SOURCES = (Source.GITHUB, Source.LDAP)


def token_origin(*, user: User, organization: Organization | None) -> tuple[str, Membership | None]:
    """What a new token of ``user`` (limited to ``organization``, or not) is minted under:
    the provider membership of that organization, or for an unlimited token the provider
    of an account that has no other way in; ``("", None)`` otherwise. ``accounts.providers``
    re-checks it when the token is used."""
    if organization is not None:
        membership = Membership.objects.filter(
            user=user, organization=organization, source__in=PROVIDER_SOURCES
        ).first()
        return (membership.source, membership) if membership is not None else ("", None)
    return user.provider_source, None


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
    source, origin = token_origin(user=user, organization=organization)
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
