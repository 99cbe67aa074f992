"""Agent clusters following a secret's writes and deletes: instead of a re-sync task that
would connect to the cluster, their copies and the ``SecretSync`` objects that use or may
select the secret get change events, in the transaction of the write (``clusters.tasks``
calls these from the secret hooks). A bounded number of queries, whatever the fleet.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from clusters.agent import events
from clusters.models import Cluster, Installation, SecretSync
from orgs.models import Organization
from secrets_app.models import SecretIndex


def could_select(spec: Any, row: SecretIndex) -> bool:
    """Whether a SecretSync's spec names ``row`` or its query may match it (erring on the
    side of a match: a needless render costs little, a missed one leaves a stale copy)."""
    if not isinstance(spec, dict):
        return False
    if spec.get("secretName"):
        return bool(spec["secretName"] == row.name)
    query = spec.get("query")
    if not isinstance(query, dict):
        return False
    tags = {tag for tag in row.tags or [] if isinstance(tag, str)}
    if query.get("type") and query["type"] != row.type:
        return False
    if query.get("tag") and query["tag"] not in tags:
        return False
    wanted = {tag for tag in query.get("tags") or [] if isinstance(tag, str)}
    return not wanted or bool(wanted & tags)


def sync_events(*, organization: Organization, secret_id: str, row: SecretIndex | None) -> int:
    """A ``sync`` event for every SecretSync of the org's agent clusters that uses the
    secret or may select it (``row``: the secret, None once gone): one query. The number
    of events."""
    candidates = SecretSync.objects.for_org(organization).filter(cluster__mode=Cluster.Mode.AGENT)
    near = Q(secret_ids__icontains=secret_id)
    if row is not None:
        near |= Q(spec__secretName=row.name) | Q(spec__has_key="query")
    found = candidates.filter(near).values_list(
        "cluster_id", "namespace", "name", "spec", "secret_ids"
    )
    payloads = [
        (cluster_id, events.sync_changed(namespace, name))
        for cluster_id, namespace, name, spec, secret_ids in found
        if secret_id in (secret_ids or []) or (row is not None and could_select(spec, row))
    ]
    events.emit_many(payloads)
    return len(payloads)


def copies_changed(*, row: SecretIndex | None, items: list[Installation]) -> None:
    """The agent copies of a secret just written (``row``): ``pending`` at its new version,
    and an ``installation`` event each (their agents render and apply them)."""
    if not items:
        return
    changes: dict[str, Any] = {"status": Installation.Status.PENDING, "last_error": ""}
    if row is not None:
        changes["version"] = row.version
    Installation.objects.filter(pk__in=[item.pk for item in items]).update(**changes)
    events.emit_many([(item.cluster_id, events.installation_changed(item.pk)) for item in items])


def secret_row(*, organization: Organization, secret_id: str) -> SecretIndex | None:
    """The secret's index row (name, type, tags, version), None when gone."""
    return (
        SecretIndex.objects.for_org(organization)
        .filter(secret_id=secret_id)
        .only("name", "type", "tags", "version", "organization_id")
        .first()
    )


def follow_write(*, organization: Organization, secret_id: str, agent: list[Installation]) -> None:
    """After a secret's write: its agent copies and the SecretSyncs that may use it."""
    row = secret_row(organization=organization, secret_id=secret_id)
    sync_events(organization=organization, secret_id=secret_id, row=row)
    copies_changed(row=row, items=agent)
