"""Signing in a command-line client by a short code confirmed on the dashboard.

The client asks for a code pair (``device_start``) and polls with the device code
(``device_poll``); the signed-in person enters the user code on the dashboard and chooses
the limits of the token the client gets (``device_approve``): one organization or all of
theirs, a highest role no higher than their own, an expiry. The token is made by
``orgs.services.token_create`` at the first poll after the confirmation and handed over
that once; only hashes are kept here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import DeviceCode
from orgs import services as org_services
from orgs.models import ApiToken, Membership, Role, User
from pipeline_secrets.core.errors import AppError, NotFoundError

CODE_LIFETIME = timedelta(minutes=10)
POLL_INTERVAL_SECONDS = 2
# No vowels and no look-alikes (RFC 8628's alphabet): 20**8 codes, none a word.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
TOKEN_EXPIRY_DAYS = (0, 1, 7, 30, 90, 365)


class DevicePendingError(AppError):
    status = 428
    title = "Authorization pending"


class DeviceDeniedError(AppError):
    status = 403
    title = "Access denied"


class DeviceExpiredError(AppError):
    status = 410
    title = "Code expired"


@dataclass(frozen=True)
class DeviceStart:
    device_code: str
    user_code: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class DeviceToken:
    token: ApiToken
    raw: str


def normalize_user_code(text: str) -> str:
    """``bcdf ghjk``, ``BCDF-GHJK`` and ``bcdfghjk`` are the same code."""
    letters = "".join(c for c in text.upper() if c.isalnum())
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == 8 else letters


def _new_user_code() -> str:
    letters = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    return normalize_user_code(letters)


def device_start(*, client_name: str) -> DeviceStart:
    name = " ".join(client_name.split())[:80] or "command line"
    # Codes nobody confirmed in time are of no use: forget them a day on.
    DeviceCode.objects.filter(expires_at__lt=timezone.now() - timedelta(days=1)).delete()
    raw = secrets.token_urlsafe(32)
    user_code = _new_user_code()
    while DeviceCode.objects.filter(user_code=user_code).exists():
        user_code = _new_user_code()
    DeviceCode.objects.create(
        user_code=user_code,
        device_code_hash=org_services.hash_token(raw),
        client_name=name,
        expires_at=timezone.now() + CODE_LIFETIME,
    )
    return DeviceStart(raw, user_code, int(CODE_LIFETIME.total_seconds()), POLL_INTERVAL_SECONDS)


def pending_code(user_code: str) -> DeviceCode:
    """The pending, unexpired sign-in with this user code."""
    row = DeviceCode.objects.filter(
        user_code=normalize_user_code(user_code),
        status=DeviceCode.Status.PENDING,
        expires_at__gt=timezone.now(),
    ).first()
    if row is None:
        raise ValidationError({"code": "No sign-in waits with this code; check it or start again."})
    return row


def _check_limits(user: User, organization_id: int | None, max_role: str) -> None:
    if max_role and max_role not in Role.values:
        raise ValidationError({"max_role": "Choose viewer, member or admin."})
    if organization_id is None:
        return
    membership = Membership.objects.filter(user=user, organization_id=organization_id).first()
    if membership is None:
        raise ValidationError({"organization": "Choose one of your organizations."})
    if not Role.allows(membership.role, max_role or membership.role):
        raise ValidationError(
            {"max_role": f"Your role there is {membership.role}; choose it or lower."}
        )


def device_approve(
    *,
    user: User,
    user_code: str,
    organization_id: int | None,
    max_role: str,
    expires_at: datetime | None,
) -> DeviceCode:
    _check_limits(user, organization_id, max_role)
    with transaction.atomic():
        row = pending_code(user_code)
        row = DeviceCode.objects.select_for_update().get(pk=row.pk)
        if row.status != DeviceCode.Status.PENDING:
            raise ValidationError({"code": "This sign-in was already answered."})
        row.user = user
        row.organization_id = organization_id
        row.max_role = max_role
        row.token_expires_at = expires_at
        row.status = DeviceCode.Status.APPROVED
        row.save()
    return row


def device_deny(*, user_code: str) -> DeviceCode:
    row = pending_code(user_code)
    row.status = DeviceCode.Status.DENIED
    row.save(update_fields=["status"])
    return row


def device_poll(*, device_code: str) -> DeviceToken:
    """The token, once the sign-in is confirmed; the errors say what else it is."""
    with transaction.atomic():
        row = (
            DeviceCode.objects.select_for_update()
            .filter(device_code_hash=org_services.hash_token(device_code))
            .first()
        )
        if row is None:
            raise NotFoundError("Unknown device code; start the sign-in again.")
        if row.status == DeviceCode.Status.DENIED:
            raise DeviceDeniedError("The sign-in was denied on the dashboard.")
        if row.status == DeviceCode.Status.DELIVERED or row.expires_at <= timezone.now():
            raise DeviceExpiredError("This code has expired or was used; start again.")
        if row.status == DeviceCode.Status.PENDING or row.user is None:
            raise DevicePendingError("Waiting for the code to be confirmed on the dashboard.")
        token, raw = org_services.token_create(
            user=row.user,
            name=row.client_name,
            expires_at=row.token_expires_at,
            organization_id=row.organization_id,
            max_role=row.max_role,
        )
        row.token = token
        row.status = DeviceCode.Status.DELIVERED
        row.save(update_fields=["token", "status"])
    return DeviceToken(token, raw)


def token_revoke_self(token: ApiToken) -> None:
    """A client signing out revokes the token it holds (and only that one)."""
    org_services.token_revoke(user=token.user, token_id=token.pk)
