"""Consent: who may act on whom, as the operator decides. The services ask these rules; no
view decides them.

* **Organizations** are created by staff accounts (the operator's: the first admin made on
  the first-run page is one) unless ``ORG_CREATION=anyone``.
* **Accounts** come from local sign-up, GitHub or LDAP under one rule: only for a person with
  a pending invitation to a verified address of theirs, unless the operator opened sign-up
  (``ACCOUNT_SIGNUP_OPEN`` locally, ``SOCIAL_SIGNUP=open`` for GitHub and LDAP).
* **Links**: an org admin links a GitHub organization, or maps a directory group, only where
  the operator trusts it (``GITHUB_TRUSTED_ORGS``, ``LDAP_TRUSTED_GROUPS``): otherwise any
  admin could make strangers members and read their sign-ins.
* **Sign-in events** of a person go to their own security log, and to an organization only
  where they joined by consent (``accounts.signin.consenting_organizations`` applies this).
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from orgs import policy
from orgs.models import Invitation, User

ORG_CREATION_REFUSED = (
    "Only the operator's staff accounts may create organizations on this installation "
    "(ORG_CREATION=staff). Ask an operator, or an admin of an organization to invite you."
)


# --------------------------------------------------------------------------- organizations


def require_org_creation(user: User) -> None:
    """PermissionDenied unless ``user`` may create organizations here (the policy's rule)."""
    if not policy.may_create_organizations(user):
        raise PermissionDenied(ORG_CREATION_REFUSED)


# --------------------------------------------------------------------------- accounts


def pending_invitation_to(emails: Iterable[str]) -> bool:
    """Whether any organization has a pending invitation to one of ``emails``."""
    wanted = [e.strip() for e in emails if e and e.strip()]
    if not wanted:
        return False
    pending = Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )
    return any(pending.filter(email__iexact=email).exists() for email in wanted)


def provider_signup_allowed(verified_emails: Iterable[str]) -> bool:
    """Whether a new account may be made for a person GitHub or LDAP vouches for, whose
    addresses the provider verified are ``verified_emails``."""
    return settings.SOCIAL_SIGNUP == "open" or pending_invitation_to(verified_emails)


# --------------------------------------------------------------------------- links


def github_org_trusted(login: str) -> bool:
    trusted = [t.strip().lower() for t in settings.GITHUB_TRUSTED_ORGS]
    return "*" in trusted or login.strip().lower() in trusted


def group_trusted(group: str) -> bool:
    return any(fnmatchcase(group, pattern) for pattern in settings.LDAP_TRUSTED_GROUPS)
