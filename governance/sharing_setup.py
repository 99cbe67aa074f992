"""What the sharing part of governance registers with the apps below it: the policy rule
that sharing a secret needs the role its values need, and the activity filter."""

from __future__ import annotations

from typing import Any

from audit import activity
from orgs import policy
from secrets_app import values
from secrets_app.models import SecretIndex


def share_rule(action: str, obj: Any) -> str | None:
    """Sharing hands values over: it needs at least the role reading them needs (admin for
    a ``kubernetes`` or ``pkecert`` secret)."""
    if action != "secret.share" or not isinstance(obj, SecretIndex):
        return None
    return values.values_role(obj)


def ready() -> None:
    policy.register_object_rule("secret.share", share_rule)
    activity.register_kind("secret.share", "Share links", weight=26)
