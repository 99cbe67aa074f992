"""Invitations: the only way into an organization other than creating it or a link the
operator trusts. Nobody becomes a member without accepting.

An invitation is sent to an address, or to an existing account (``member_invite``, by
username, at that account's address). It is accepted only by the person it was sent to:

* sent to an address: by an account with a *verified* address equal to it (case-insensitive).
  An account signed up through the invitation's own link counts as verified: the link
  reached that mailbox (``accounts.views.InvitationView`` vouches for the address at sign-up);
* sent to an account: by that account only.

Anyone else is refused, nothing changes, and the refusal is in the organization's audit.

The raw link token exists only in the mail and, once, on the admin's link page
(``orgs.invitation_links``); only its hash is kept. A resend replaces the hash (the old link
stops working); an address with a pending invitation is offered a resend, never a second
invitation.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from orgs import reporting
from orgs.models import Invitation, Membership, Organization, Source, User
from orgs.services import audit_member, validate_role
from pipeline_secrets.core.errors import ConflictError, NotFoundError


def invitation_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class DuplicateInvitation(ConflictError):
    """The address already has a pending invitation here: resend that one (a new link)
    rather than make a second."""

    def __init__(self, invitation: Invitation) -> None:
        super().__init__(
            f"{shown_email(invitation)} already has a pending invitation (sent "
            f"{invitation.created_at:%Y-%m-%d}); resend it to get a new link."
        )
        self.invitation = invitation


def pending_for(organization: Organization, email: str) -> Invitation | None:
    """The pending invitation of ``email`` (any case) in ``organization``, if there is one."""
    return (
        Invitation.objects.for_org(organization)
        .filter(
            email__iexact=email,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


def invitation_link(invitation: Invitation, raw: str, base_url: str) -> str:
    """The address of ``invitation``'s link for the raw token ``raw``."""
    return f"{settings.PUBLIC_URL or base_url.rstrip('/')}/invites/{raw}/"


def invitation_create(
    *,
    actor: User,
    organization: Organization,
    email: str,
    role: str,
    base_url: str,
    invitee: User | None = None,
) -> tuple[Invitation, str]:
    """Invite ``email`` (or the account ``invitee`` at that address) with ``role`` and mail
    it a single-use link under ``base_url``. Returns the invitation and the raw link token
    (which is kept nowhere else)."""
    email = email.strip()
    validate_role(role)
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address."}) from None
    duplicate = pending_for(organization, email)
    if duplicate is not None:
        raise DuplicateInvitation(duplicate)
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            organization=organization,
            email=email,
            role=role,
            token_hash=invitation_hash(raw),
            invited_by=actor.username,
            invitee=invitee,
            expires_at=timezone.now() + timedelta(days=settings.INVITATION_DAYS),
        )
        reporting.audit(
            actor=actor.username,
            action="invitation.send",
            organization=organization,
            target_type="invitation",
            target_id=invitation.pk,
            target_name=invitee.username if invitee is not None else email,
            role=role,
        )
        _send(invitation, actor, invitation_link(invitation, raw, base_url))
    return invitation, raw


def invitation_resend(
    *, actor: User, organization: Organization, invitation_id: int, base_url: str
) -> tuple[Invitation, str]:
    """A new link for a pending or expired invitation, mailed again with a fresh expiry; the
    old link stops working (only the new token's hash is kept). Returns the invitation and
    the raw new token."""
    raw = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = _locked(organization, invitation_id)
        if invitation.state not in (Invitation.State.PENDING, Invitation.State.EXPIRED):
            raise ConflictError(f"This invitation is {invitation.state}; it cannot be resent.")
        other = pending_for(organization, invitation.email)
        if other is not None and other.pk != invitation.pk:
            raise DuplicateInvitation(other)
        invitation.token_hash = invitation_hash(raw)
        invitation.expires_at = timezone.now() + timedelta(days=settings.INVITATION_DAYS)
        invitation.save(update_fields=["token_hash", "expires_at"])
        reporting.audit(
            actor=actor.username,
            action="invitation.resend",
            organization=organization,
            target_type="invitation",
            target_id=invitation.pk,
            target_name=invitation.invitee.username if invitation.invitee else invitation.email,
            role=invitation.role,
        )
        _send(invitation, actor, invitation_link(invitation, raw, base_url))
    return invitation, raw


def _send(invitation: Invitation, actor: User, link: str) -> None:
    """Queue the invitation mail (sealed: the link is its only copy) for the worker."""
    organization = invitation.organization
    message = EmailMessage(
        subject=f"[Pipeline Secrets] {actor.username} invites you to {organization.name}",
        body=(
            f"{actor.username} invites you to the organization {organization.name} on "
            f"Pipeline Secrets, as {invitation.role}.\n\nOpen this link to accept; it works "
            f"once, until {invitation.expires_at:%Y-%m-%d %H:%M} UTC:\n\n{link}\n\n"
            "If you did not expect this, ignore this message: nothing happens until you "
            "accept.\n"
        ),
        to=[invitation.email],
    )
    reporting.queue_mail(message)


def shown_email(invitation: Invitation) -> str:
    """The address as admins see it: masked when an account was invited by username, so
    inviting a username does not reveal where its owner gets mail."""
    if invitation.invitee_id is None:
        return invitation.email
    return "***@" + invitation.email.partition("@")[2]


def address_of(user: User) -> str:
    """Where to mail ``user``: their primary (else verified, else any) address, or ''."""
    address = EmailAddress.objects.filter(user=user).order_by("-primary", "-verified", "pk").first()
    return address.email if address is not None else (user.email or "")


def member_invite(
    *, actor: User, organization: Organization, username: str, role: str, base_url: str
) -> tuple[Invitation, str]:
    """Invite the existing account ``username`` with ``role``: it becomes a member only when
    it accepts. The account's address receives the link; only that account may use it.
    Returns the invitation and the raw link token, as ``invitation_create``."""
    validate_role(role)
    user = User.objects.filter(username=username).first()
    if user is None:
        raise ValidationError({"username": f"No user named {username!r}."})
    if Membership.objects.filter(user=user, organization=organization).exists():
        raise ConflictError(f"{username} is already a member of {organization.name}.")
    email = address_of(user)
    if not email:
        raise ValidationError(
            {
                "username": f"{username} has no e-mail address to send the invitation to; "
                "invite them by address instead."
            }
        )
    return invitation_create(
        actor=actor,
        organization=organization,
        email=email,
        role=role,
        base_url=base_url,
        invitee=user,
    )


def invitation_get(*, organization: Organization, invitation_id: int) -> Invitation:
    """The invitation ``invitation_id`` of ``organization`` (NotFoundError otherwise)."""
    invitation = (
        Invitation.objects.for_org(organization)
        .select_related("organization", "invitee")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:
        raise NotFoundError("Invitation not found.")
    return invitation


def _locked(organization: Organization, invitation_id: int) -> Invitation:
    """The organization's invitation ``invitation_id``, locked until the transaction ends."""
    invitation = (
        Invitation.objects.for_org(organization)
        .select_for_update()
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None:
        raise NotFoundError("Invitation not found.")
    return invitation


def invitation_revoke(*, actor: User, organization: Organization, invitation_id: int) -> None:
    with transaction.atomic():
        invitation = _locked(organization, invitation_id)
        if invitation.state != Invitation.State.PENDING:
            raise ConflictError(f"This invitation is {invitation.state}; it cannot be revoked.")
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        reporting.audit(
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


def acceptance_refusal(user: User, invitation: Invitation) -> str | None:
    """Why ``user`` may not accept ``invitation`` (None: they may)."""
    if invitation.invitee_id is not None:
        if invitation.invitee_id == user.pk:
            return None
        return "This invitation was sent to another account; only that account can accept it."
    verified = EmailAddress.objects.filter(
        user=user, email__iexact=invitation.email, verified=True
    ).exists()
    if verified:
        return None
    return (
        f"This invitation was sent to {invitation.email}, which is not a verified address of "
        f"your account {user.username}. Sign in with the account of that address (or add and "
        "verify the address in your account's e-mail settings), or sign out and create an "
        "account for it from this link."
    )


def invitation_accept(*, user: User, raw: str) -> Membership:
    """Make ``user`` a member with the invited role; the link is used up. PermissionDenied
    (and an ``invitation.refuse`` audit event, nothing else changed) when the invitation
    was not sent to ``user``."""
    with transaction.atomic():
        found = invitation_for_token(raw)
        if found is None:
            raise NotFoundError("This invitation link is not valid.")
        invitation = Invitation.objects.select_for_update().get(pk=found.pk)
        if invitation.state != Invitation.State.PENDING:
            raise ConflictError(f"This invitation is {invitation.state}.")
        refusal = acceptance_refusal(user, invitation)
        if refusal is None:
            return _join(user, invitation, found.organization)
    reporting.audit(
        actor=user.username,
        action="invitation.refuse",
        organization=found.organization,
        target_type="invitation",
        target_id=invitation.pk,
        target_name=invitation.email,
        role=invitation.role,
        reason="not the invited person",
    )
    raise PermissionDenied(refusal)


def _join(user: User, invitation: Invitation, organization: Organization) -> Membership:
    if Membership.objects.filter(user=user, organization=organization).exists():
        raise ConflictError(f"You are already a member of {organization.name}.")
    membership = Membership.objects.create(
        user=user, organization=organization, role=invitation.role, source=Source.INVITATION
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    reporting.audit(
        actor=user.username,
        action="invitation.accept",
        organization=organization,
        target_type="invitation",
        target_id=invitation.pk,
        target_name=invitation.email,
        role=invitation.role,
    )
    audit_member(user, "member.add", membership)
    return membership
