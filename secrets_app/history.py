"""A secret's history: who wrote each version Vault keeps, when, what kind of change it was,
what changed between two versions, and what an action on the secret reaches.

Invariants:
- the author and kind of a version come from the audit trail (the write's event names the
  version it made), never from a value; a version older than the trail reads "unknown";
- a diff says which keys were added, removed, changed or left as they were, and how the
  tags and type moved: the two documents are read and compared here and dropped, no value
  leaves this module, so computing a diff is not a read of values by the person who asks
  (revealing a value of an old version is, through ``values.reveal``);
- the effect of an action counts installed copies, their clusters and the notification
  targets its event reaches, from the database only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from audit import selectors as audit_selectors
from notifications import services as notifications
from orgs import policy
from orgs.models import Organization
from pipeline_secrets.core.errors import NotFoundError
from secrets_app import hooks
from secrets_app import values as secret_values
from secrets_app.models import SecretIndex

# The audit actions that write a version, and the kind of change each is.
KINDS = {
    "secret.create": "create",
    "secret.update": "update",
    "secret.rotate": "rotate",
    "secret.renew": "renew",
    "secret.rollback": "rollback",
    "secret.tag.add": "tags",
    "secret.tag.remove": "tags",
}
# Vault's clock and the database's may differ a little: an event this much earlier than
# its version still belongs to it.
CLOCK_SLACK = timedelta(seconds=5)
# Who reads two versions to compare them: the product, for a page (no value is shown).
COMPARER = policy.System("history")


@dataclass
class VersionEntry:
    """One version Vault keeps, with who made it and how."""

    version: int
    created_time: str
    deleted: bool
    current: bool
    author: str = ""
    kind: str = "unknown"
    source: int | None = None  # a rollback's source version
    change_request: int | None = None  # the approved change request it applied
    requested_by: str = ""  # who asked for that change

    @property
    def label(self) -> str:
        if self.change_request is not None:
            return f"approval ({self.kind})"
        return self.kind


def _events_by_version(row: SecretIndex) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {}
    events = audit_selectors.events(organization=row.organization, target_id=row.secret_id)
    for event in events.filter(action__in=list(KINDS)).order_by("created_at", "id"):
        number = event.detail.get("version")
        if isinstance(number, int):
            found.setdefault(number, []).append(event)
    return found


def history(*, row: SecretIndex) -> list[VersionEntry]:
    """The versions Vault keeps of ``row``, newest first, each with its author and kind."""
    events = _events_by_version(row)
    entries = []
    for info in secret_values.versions(row=row):
        entry = VersionEntry(
            version=info.version,
            created_time=info.created_time,
            deleted=info.deleted,
            current=info.version == row.version,
        )
        written = secret_values.parse_time(info.created_time) - CLOCK_SLACK
        # A secret deleted and made again restarts at version 1: the event of this
        # version is the first one recorded after Vault wrote it.
        event = next((e for e in events.get(info.version, []) if e.created_at >= written), None)
        if event is not None:
            entry.author = event.actor
            entry.kind = KINDS[event.action]
            source = event.detail.get("source")
            entry.source = source if isinstance(source, int) else None
            request = event.detail.get("changeRequest")
            entry.change_request = request if isinstance(request, int) else None
            entry.requested_by = str(event.detail.get("requestedBy") or "")
        entries.append(entry)
    return entries


def entry_of(*, row: SecretIndex, version: int) -> VersionEntry:
    """The history entry of one kept version (NotFound when Vault does not keep it)."""
    for entry in history(row=row):
        if entry.version == version:
            return entry
    raise NotFoundError(f"The secret has no version {version}.")


@dataclass
class KeyChange:
    name: str
    state: str  # added | removed | changed | unchanged


@dataclass
class VersionDiff:
    """What ``version`` changed from ``against`` (None: it is the first kept version)."""

    version: int
    against: int | None
    keys: list[KeyChange] = field(default_factory=list)
    tags_added: list[str] = field(default_factory=list)
    tags_removed: list[str] = field(default_factory=list)
    type_before: str = ""
    type_after: str = ""
    destroyed: bool = False  # one of the two versions' values are gone

    @property
    def changed_keys(self) -> list[KeyChange]:
        return [k for k in self.keys if k.state != "unchanged"]

    @property
    def counts(self) -> dict[str, int]:
        found = dict.fromkeys(("added", "removed", "changed", "unchanged"), 0)
        for key in self.keys:
            found[key.state] += 1
        return found


def _document(row: SecretIndex, version: int) -> dict[str, Any] | None:
    try:
        document = secret_values.reveal(
            standing=COMPARER, row=row, purpose="diff", version=version, audit_read=False
        )
    except NotFoundError:
        return None
    return document.data


def compare(
    new: dict[str, Any], old: dict[str, Any] | None, *, version: int, against: int | None
) -> VersionDiff:
    """The diff of two Vault documents (``old`` None: everything in ``new`` is added)."""
    old = old or {}
    new_values, old_values = new.get("values") or {}, old.get("values") or {}
    keys = []
    for name in sorted(set(new_values) | set(old_values)):
        if name not in old_values:
            state = "added"
        elif name not in new_values:
            state = "removed"
        else:
            state = "unchanged" if new_values[name] == old_values[name] else "changed"
        keys.append(KeyChange(name, state))
    new_tags, old_tags = set(new.get("tags") or []), set(old.get("tags") or [])
    return VersionDiff(
        version=version,
        against=against,
        keys=keys,
        tags_added=sorted(new_tags - old_tags),
        tags_removed=sorted(old_tags - new_tags),
        type_before=str(old.get("type") or ""),
        type_after=str(new.get("type") or ""),
    )


def diff(*, row: SecretIndex, version: int, against: int | None) -> VersionDiff:
    """What ``version`` of ``row`` changed from ``against`` (see the module's invariants)."""
    new = _document(row, version)
    old = _document(row, against) if against is not None else None
    if new is None or (against is not None and old is None):
        return VersionDiff(version=version, against=against, destroyed=True)
    return compare(new, old, version=version, against=against)


def previous_kept(entries: list[VersionEntry], version: int) -> int | None:
    """The newest kept version before ``version`` (None: it is the oldest kept)."""
    older = [e.version for e in entries if e.version < version and not e.deleted]
    return max(older) if older else None


@dataclass
class Effect:
    """What an action on a secret reaches: its installed copies and their clusters, and the
    notification targets of the event it fires."""

    copies: int
    clusters: list[str]
    targets: int
    event: str


def effect_of(*, organization: Organization, secret_id: str, event: str) -> Effect:
    installed = hooks.installations(organization=organization, secret_id=secret_id)
    return effect_of_copies(organization=organization, installed=installed, event=event)


def effect_of_copies(*, organization: Organization, installed: list[Any], event: str) -> Effect:
    """The effect of an action that reaches the ``installed`` copies and fires ``event``."""
    clusters = sorted({item.cluster.name for item in installed})
    targets = notifications.target_list(organization=organization)
    wanting = sum(1 for t in targets if t.wants(event))
    return Effect(copies=len(installed), clusters=clusters, targets=wanting, event=event)
