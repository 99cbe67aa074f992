"""Which secrets of an organization are protected, and the policy's hold rule for them.

An organization has at most one ``Protection`` (none: nothing is protected; its GET answers
the defaults). A secret is protected when it carries one of the rule's tags or is listed by
id. A change to a protected secret by anyone (admins too) is held for approval; scheduled
rotations and renewals (the product acting as ``System``) are allowed or held by the
``scheduledRotation`` setting. A change applied after its approvals is written by an
``ApprovedChange`` standing, which no rule holds again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from governance.models import Protection
from orgs import policy
from orgs.models import Membership, Organization
from secrets_app.validation import validate_tags

# The policy actions whose changes a protection holds.
HELD_ACTIONS = frozenset(
    {"secret.values.write", "secret.rotate", "secret.tag", "secret.delete", "cluster.install"}
)
MAX_APPROVALS = 10


@dataclass(frozen=True)
class ApprovedChange(policy.System):
    """The product applying change request ``change_request_id`` of ``requested_by``."""

    change_request_id: int = 0
    requested_by: str = ""


def protection_of(organization: Organization) -> Protection:
    """The organization's rule; an unsaved one with the defaults when it has none."""
    found = Protection.objects.filter(organization=organization).first()
    return found if found is not None else Protection(organization=organization)


def protects(protection: Protection, obj: Any) -> bool:
    """Whether ``obj`` (a secret: ``secret_id``, ``tags``) is protected by the rule."""
    if getattr(obj, "secret_id", None) in (protection.secrets or []):
        return True
    tags = set(getattr(obj, "tags", None) or [])
    return bool(tags & set(protection.tags or []))


def hold_rule(standing: policy.Standing, action: str, obj: Any) -> policy.Hold | None:
    """The policy's hold outcome for protected secrets (see the module's docstring)."""
    if action not in HELD_ACTIONS or isinstance(standing, ApprovedChange | policy.Agent):
        return None
    organization_id = getattr(obj, "organization_id", None)
    if organization_id is None:
        return None
    protection = Protection.objects.filter(organization_id=organization_id).first()
    if protection is None or not protects(protection, obj):
        return None
    if isinstance(standing, policy.System):
        if protection.scheduled_rotation == Protection.Scheduled.ALLOW:
            return None
        return policy.Hold("the organization holds scheduled rotations of protected secrets")
    return policy.Hold("the secret is protected: its changes need approval")


def as_json(protection: Protection) -> dict[str, Any]:
    return {
        "tags": list(protection.tags or []),
        "secrets": list(protection.secrets or []),
        "requiredApprovals": protection.required_approvals,
        "scheduledRotation": protection.scheduled_rotation,
        "breakGlass": protection.break_glass,
    }


# At most this many tags, and secrets, in one rule.
MAX_ITEMS = 200
SECRET_ID = re.compile(r"^[0-9a-f]{64}$")


def _texts(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValidationError({name: "Must be a list of non-empty strings."})
    if len(value) > MAX_ITEMS:
        raise ValidationError({name: f"At most {MAX_ITEMS}."})
    if name == "tags":
        return validate_tags(value)
    wrong = [v for v in value if not SECRET_ID.match(v)]
    if wrong:
        raise ValidationError({name: "Secret ids are 64 lowercase hex characters (the API's id)."})
    return sorted(set(value))


def _clean(data: Any) -> dict[str, Any]:
    """The fields of a PUT body (missing members keep their value); field errors."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": "Must be an object."})
    clean: dict[str, Any] = {}
    if "tags" in data:
        clean["tags"] = _texts(data["tags"], "tags")
    if "secrets" in data:
        clean["secrets"] = _texts(data["secrets"], "secrets")
    if "requiredApprovals" in data:
        count = data["requiredApprovals"]
        if isinstance(count, bool) or not isinstance(count, int):
            raise ValidationError({"requiredApprovals": "Must be a whole number."})
        if not 1 <= count <= MAX_APPROVALS:
            raise ValidationError({"requiredApprovals": f"Must be from 1 to {MAX_APPROVALS}."})
        clean["required_approvals"] = count
    if "scheduledRotation" in data:
        if data["scheduledRotation"] not in Protection.Scheduled.values:
            raise ValidationError({"scheduledRotation": 'Must be "allow" or "hold".'})
        clean["scheduled_rotation"] = data["scheduledRotation"]
    if "breakGlass" in data:
        if not isinstance(data["breakGlass"], bool):
            raise ValidationError({"breakGlass": "Must be true or false."})
        clean["break_glass"] = data["breakGlass"]
    return clean


def protection_set(*, membership: Membership, organization: Organization, data: Any) -> Protection:
    """Create or change the organization's rule (admins); audited."""
    policy.require(membership, "protection.manage")
    clean = _clean(data)
    name = policy.actor_name(membership)
    with transaction.atomic():
        protection, _ = Protection.objects.select_for_update().get_or_create(
            organization=organization
        )
        for field, value in clean.items():
            setattr(protection, field, value)
        protection.updated_by = name
        protection.updated_at = timezone.now()
        protection.save()
        audit.record(
            actor=name,
            action="protection.update",
            organization=organization,
            target_type="protection",
            target_id=organization.pk,
            target_name=organization.name,
            tag=",".join(protection.tags)[:200],
            count=protection.required_approvals,
        )
    return protection
