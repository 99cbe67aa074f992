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


def sync_events(*, organization: Organization, secret_id: str) -> int:
    """A ``sync`` event for every SecretSync of the org's agent clusters that uses the
    secret or may select it: two queries (the secret's row, the candidate syncs). The
    number of events."""
    row = SecretIndex.objects.for_org(organization).filter(secret_id=secret_id).first()
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


def copies_changed(
    *, organization: Organization, secret_id: str, items: list[Installation]
) -> None:
    """The agent copies of a secret just written: ``pending`` at its new version, and an
    ``installation`` event each (their agents render and apply them)."""
    if not items:
        return
    version = (
        SecretIndex.objects.for_org(organization)
        .filter(secret_id=secret_id)
        .values_list("version", flat=True)
        .first()
    )
    changes: dict[str, Any] = {"status": Installation.Status.PENDING, "last_error": ""}
    if version is not None:
        changes["version"] = version
    Installation.objects.filter(pk__in=[item.pk for item in items]).update(**changes)
    events.emit_many([(item.cluster_id, events.installation_changed(item.pk)) for item in items])
