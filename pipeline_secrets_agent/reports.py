"""What the agent tells: the entries of a ``report`` to the server (installations,
SecretSyncs, drift) and the status it writes on a SecretSync. Names, versions and
messages only, never a value."""

from __future__ import annotations

from typing import Any

from pipeline_secrets_agent.apply import Outcome, now
from pipeline_secrets_agent.desired import Key, SyncVerdict


def installation(outcome: Outcome) -> dict[str, Any]:
    desired = outcome.desired
    version: int | str = desired.version
    if desired.version.isdigit():
        version = int(desired.version)
    return {
        "id": desired.ref,
        "version": version,
        "status": "failed" if outcome.error else "installed",
        "error": outcome.error or outcome.restart_error,
        "appliedAt": outcome.at or now(),
    }


def sync(verdict: SyncVerdict, outcome: Outcome | None) -> dict[str, Any]:
    error = outcome.error if outcome else ""
    return {
        "namespace": verdict.namespace,
        "name": verdict.name,
        "version": verdict.version,
        "ready": verdict.ready and not error,
        "error": error or ("" if verdict.ready else verdict.message),
        "appliedAt": (outcome.at if outcome else "") or now(),
    }


def drift(key: Key, change: str, repaired: bool) -> dict[str, Any]:
    return {
        "namespace": key[0],
        "name": key[1],
        "change": change,
        "repaired": repaired,
        "detectedAt": now(),
    }


def sync_status(
    verdict: SyncVerdict, outcome: Outcome | None, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """The status to write on a SecretSync: its ``Ready`` condition (the transition time
    kept while the status stays), ``appliedVersion`` (the last one applied) and
    ``lastError``."""
    previous = previous or {}
    error = outcome.error if outcome else ""
    ready = verdict.ready and not error
    message = error or ("" if verdict.ready else verdict.message)
    reason = "Applied" if ready else (verdict.reason if not error else "ApplyFailed")
    status = "True" if ready else "False"
    before = ready_condition(previous)
    since = before.get("lastTransitionTime") if before.get("status") == status else None
    return {
        "conditions": [
            {
                "type": "Ready",
                "status": status,
                "reason": reason or "NotReady",
                "message": message,
                "lastTransitionTime": since or now(),
            }
        ],
        "appliedVersion": verdict.version if ready else previous.get("appliedVersion", ""),
        "lastError": message if not ready else "",
    }


def ready_condition(status: dict[str, Any]) -> dict[str, Any]:
    for condition in status.get("conditions") or ():
        if isinstance(condition, dict) and condition.get("type") == "Ready":
            return condition
    return {}


def status_differs(new: dict[str, Any], old: dict[str, Any] | None) -> bool:
    """Whether writing ``new`` over ``old`` changes anything but the transition time."""
    if not old:
        return True
    mine, theirs = dict(ready_condition(new)), dict(ready_condition(old))
    mine.pop("lastTransitionTime", None)
    theirs.pop("lastTransitionTime", None)
    return (
        mine != theirs
        or new.get("appliedVersion", "") != old.get("appliedVersion", "")
        or new.get("lastError", "") != old.get("lastError", "")
    )
