"""One-time share links: a member hands a secret's values (all, or some fields) to someone
outside the product.

The values are read through the values service (the policy decides, the read is audited
with the purpose ``share``) and wrapped in Vault with the link's TTL; Vault gives back a
single-use wrapping token, which goes into the link and nowhere else (not the database, not
a log, not the audit). The ``ShareLink`` row keeps the token's accessor, which can revoke
the token but never unwrap it, and what happened to the link.

Invariants:
- a link opens once: Vault unwraps a token once, and the row records who opened it (the IP)
  in the same transaction as its audit event, before the values are returned;
- an opened, expired or revoked link answers "gone" (410) saying which, without asking
  Vault; Vault's own TTL ends the token too, whatever the clock here says;
- the wrapped payload names its link, so a token is always recorded against its own link,
  whichever link's address it was sent to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from audit import services as audit
from governance.models import ShareLink
from orgs import policy
from orgs.models import Membership, Organization, Role
from pipeline_secrets.core.errors import AppError, ConflictError, NotFoundError
from secrets_app import values
from secrets_app.models import SecretIndex
from secrets_app.types.durations import parse_duration
from secrets_app.vault import wrapping

DEFAULT_TTL = "1h"
MAX_TTL = timedelta(days=7)
LINK_NOT_FOUND = "Share link not found."
LINK_INVALID = "This link is not valid: check that it was copied whole."
# What a link holder sees in the audit trail: no account stands behind them.
OPENER = "link holder"
PUBLIC_ID = re.compile(r"[0-9a-f]{24}")
DAYS = re.compile(r"(\d+)d")


class LinkGoneError(AppError):
    """The link was opened, has expired or was revoked: it holds nothing any more."""

    status = 410
    title = "Gone"


@dataclass(frozen=True)
class Shared:
    """A link just made: its row, and the wrapping token that only its URL carries."""

    link: ShareLink
    token: str

    def __repr__(self) -> str:  # the token never reaches a log through a repr
        return f"Shared(link={self.link.public_id!r})"


def parse_ttl(text: str | None) -> timedelta:
    """A link's lifetime from ``30m``, ``4h``, ``7d`` (Go durations, plus whole days);
    the default is an hour, the longest seven days."""
    given = (text or DEFAULT_TTL).strip()
    days = DAYS.fullmatch(given)
    try:
        ttl = timedelta(days=int(days.group(1))) if days else parse_duration(given)
    except (ValueError, OverflowError):
        raise ValidationError({"ttl": "A duration such as 30m, 4h or 7d."}) from None
    if ttl < timedelta(seconds=1) or ttl > MAX_TTL:
        raise ValidationError({"ttl": "From 1s to 7d."})
    return ttl


def status_of(link: ShareLink, now: datetime) -> str:
    """``opened``, ``revoked``, ``expired`` or ``active``."""
    if link.opened_at is not None:
        return "opened"
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at <= now:
        return "expired"
    return "active"


GONE = {
    "opened": "This link was already opened.",
    "revoked": "This link was revoked.",
    "expired": "This link has expired.",
}


def require_may_share(actor: Membership, row: SecretIndex) -> None:
    """PermissionDenied unless ``actor`` may share ``row``'s values (the ``secret.share``
    row, raised to the type's values role by ``sharing_setup``)."""
    values.require(actor, "secret.share", row)


def share_create(
    *,
    actor: Membership,
    row: SecretIndex,
    fields: list[str] | None,
    ttl: timedelta,
    now: datetime,
) -> Shared:
    """Wrap the values of ``row`` (only ``fields`` when given) for ``ttl``; audited as
    ``secret.share`` besides the audited read of the values."""
    require_may_share(actor, row)
    chosen = sorted(set(fields or []))
    # One transaction: a refused field list or a failed wrap takes back the read's audit
    # row, as nothing was shown.
    with transaction.atomic():
        found = values.read_values(
            standing=actor, row=row, purpose="share", audit_read=True, fields=chosen
        )
        unknown = [name for name in chosen if name not in found]
        if unknown:
            raise ValidationError({"fields": f"{row.name} has no field {', '.join(unknown)}."})
        return _wrap(actor, row, chosen, found, ttl=ttl, now=now)


def _wrap(
    actor: Membership,
    row: SecretIndex,
    chosen: list[str],
    found: dict[str, Any],
    *,
    ttl: timedelta,
    now: datetime,
) -> Shared:
    link = ShareLink(
        organization=row.organization,
        secret_id=row.secret_id,
        secret_name=row.name,
        fields=chosen,
        created_by=policy.actor_name(actor),
        created_at=now,
    )
    payload = {
        "link": link.public_id,
        "secret": row.name,
        "type": row.type,
        "values": {k: v for k, v in found.items() if not chosen or k in chosen},
    }
    wrapped = wrapping.wrap(payload, int(ttl.total_seconds()))
    link.wrap_accessor = wrapped.accessor
    link.expires_at = now + timedelta(seconds=wrapped.seconds)
    link.save(force_insert=True)
    _audit(link, "secret.share", link.created_by, fields=chosen, ttl=wrapped.seconds)
    return Shared(link=link, token=wrapped.token)


def _audit(link: ShareLink, action: str, actor: str, **detail: Any) -> None:
    audit.record(
        actor=actor,
        action=action,
        organization=link.organization,
        target_type="secret",
        target_id=link.secret_id,
        target_name=link.secret_name,
        link=link.public_id,
        expiresAt=link.expires_at.isoformat(),
        **detail,
    )


# --------------------------------------------------------------------------- opening


def public_link(link_id: str) -> ShareLink:
    """The link a public address names; NotFound for anything else."""
    found = None
    if PUBLIC_ID.fullmatch(link_id):
        found = ShareLink.objects.select_related("organization").filter(public_id=link_id)
    link = found.first() if found is not None else None
    if link is None:
        raise NotFoundError(LINK_NOT_FOUND)
    return link


def require_open(link: ShareLink, now: datetime) -> None:
    """LinkGoneError, saying why, unless ``link`` may still be opened at ``now``."""
    status = status_of(link, now)
    if status != "active":
        raise LinkGoneError(GONE[status])


def share_open(*, link_id: str, token: str, ip: str | None, now: datetime) -> dict[str, Any]:
    """The shared payload (``secret``, ``type``, ``values``), once: the opening is recorded
    (time, IP, audit ``secret.share_opened``) before it is returned."""
    link = public_link(link_id)
    require_open(link, now)
    payload = wrapping.unwrap(token) if token else None
    if payload is None:
        # Opened meanwhile by a concurrent request (Vault unwraps once), or a wrong token.
        link.refresh_from_db()
        require_open(link, now)
        raise NotFoundError(LINK_INVALID)
    if payload.get("link") != link.public_id:
        link = public_link(str(payload.get("link", "")))
    with transaction.atomic():
        ShareLink.objects.filter(pk=link.pk, opened_at__isnull=True).update(
            opened_at=now, opened_ip=ip
        )
        _audit(link, "secret.share_opened", OPENER, ip=ip or "")
    return {k: payload.get(k) for k in ("secret", "type", "values")}


# --------------------------------------------------------------------------- managing


def visible_links(*, actor: Membership, organization: Organization) -> Any:
    """The links ``actor`` may see and manage: all of the org's for an admin, their own for
    a member; a viewer shares nothing and sees nothing (PermissionDenied)."""
    policy.require(actor, "secret.share")
    found = ShareLink.objects.for_org(organization)
    if not Role.allows(actor.role, Role.ADMIN):
        found = found.filter(created_by=policy.actor_name(actor))
    return found


def share_list(
    *, actor: Membership, organization: Organization, secret_id: str | None = None
) -> list[ShareLink]:
    """``visible_links``, newest first (of one secret when ``secret_id`` is given)."""
    found = visible_links(actor=actor, organization=organization)
    if secret_id is not None:
        found = found.filter(secret_id=secret_id)
    return list(found[:500])


def share_get(*, actor: Membership, organization: Organization, link_id: str) -> ShareLink:
    """A link ``actor`` may manage; another member's is not found, like another org's."""
    found = visible_links(actor=actor, organization=organization).filter(public_id=link_id)
    link = found.first() if PUBLIC_ID.fullmatch(link_id) else None
    if link is None:
        raise NotFoundError(LINK_NOT_FOUND)
    return link


def share_revoke(
    *, actor: Membership, organization: Organization, link_id: str, now: datetime
) -> ShareLink:
    """Revoke a link that was not opened: its token is revoked in Vault, then the row is
    marked and audited (``secret.share_revoked``). Revoking again changes nothing."""
    link = share_get(actor=actor, organization=organization, link_id=link_id)
    if link.opened_at is not None:
        raise ConflictError("This link was already opened: there is nothing to revoke.")
    if link.revoked_at is not None:
        return link
    wrapping.revoke(link.wrap_accessor)
    link.revoked_at, link.revoked_by = now, policy.actor_name(actor)
    with transaction.atomic():
        link.save(update_fields=["revoked_at", "revoked_by"])
        _audit(link, "secret.share_revoked", link.revoked_by)
    return link


def link_url(base: str, shared: Shared) -> str:
    """The link handed over: the public page, with the wrapping token in the fragment, the
    part of a URL that browsers never send (so no server, proxy or Referer ever sees it)."""
    path = reverse("governance:share-open", args=[shared.link.public_id])
    return f"{base.rstrip('/')}{path}#{shared.token}"
