"""SecretSync objects of agent clusters, as the server renders them.

Application teams commit ``SecretSync`` objects (``secrets.pipeline.io/v1alpha1``) with
their manifests; the agent sends them here and writes the Secret rendered. What a sync may
receive is decided by the policy (the cluster's scope), as for installations: a sync
asking for a secret outside it is answered ``ready: false`` (``OutOfScope``), and the
secret is not read. The server keeps a record of each sync (``SecretSync``) so a change of
a secret it uses, or may select, reaches the agent as a ``sync`` event.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from clusters import mapping, workloads
from clusters.agent import scope
from clusters.agent.render import Reads, managed_labels, refusal
from clusters.batch import ANNOTATION, kube_object
from clusters.models import Cluster, SecretSync
from clusters.namespaces import DNS1123_LABEL
from orgs import policy
from pipeline_secrets.core.errors import NotFoundError, VaultUnavailableError
from secrets_app import selectors as secret_selectors
from secrets_app.models import SecretIndex

SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
SYNC_ANNOTATION = f"{ANNOTATION}secretsync"


@dataclass
class Wanted:
    """One SecretSync as the agent sent it, checked, with the secrets it selects."""

    namespace: str
    name: str
    spec: dict[str, Any]
    target: str = ""
    mapping: mapping.Spec | None = None
    workloads: list[dict[str, str]] = field(default_factory=list)
    rows: list[SecretIndex] = field(default_factory=list)
    reason: str = ""
    message: str = ""

    def fail(self, reason: str, message: str) -> None:
        self.reason, self.message = reason, message


def clean(raw: Any) -> Wanted:
    """A SecretSync from the agent; a ValidationError for one it should never have sent
    (the CRD's schema already refuses most of what is checked here)."""
    if not isinstance(raw, dict):
        raise ValidationError({"syncs": "Each item must be {namespace, name, spec}."})
    namespace, name, spec = raw.get("namespace"), raw.get("name"), raw.get("spec")
    if not isinstance(namespace, str) or not DNS1123_LABEL.fullmatch(namespace):
        raise ValidationError({"syncs.namespace": "Must be a namespace name."})
    if not isinstance(name, str) or not SUBDOMAIN.fullmatch(name):
        raise ValidationError({"syncs.name": "Must be a DNS-1123 subdomain."})
    wanted = Wanted(namespace, name, spec if isinstance(spec, dict) else {})
    try:
        _check_spec(wanted)
    except ValidationError as exc:
        wanted.fail("Invalid", refusal(exc))
    return wanted


def _check_spec(wanted: Wanted) -> None:
    spec = wanted.spec
    by_name, query = spec.get("secretName"), spec.get("query")
    if bool(by_name) == bool(query):
        raise ValidationError({"spec": "Give either secretName or query."})
    if query is not None and (not isinstance(query, dict) or not _query_selects(query)):
        raise ValidationError({"spec.query": "Select by type, tag or tags."})
    target = (spec.get("target") or {}).get("name") or wanted.name
    if not isinstance(target, str) or not SUBDOMAIN.fullmatch(target):
        raise ValidationError({"spec.target.name": "Must be a DNS-1123 subdomain."})
    wanted.target = target
    wanted.mapping = mapping.clean_spec(spec.get("spec"))
    if wanted.mapping is not None and query:
        raise ValidationError({"spec.spec": "A key mapping needs one secret: use secretName."})
    if wanted.mapping and any("value" in item for item in wanted.mapping.values()):
        raise ValidationError({"spec.spec": "Literal values do not belong in a SecretSync."})
    wanted.workloads = workloads.clean_workloads(spec.get("workloads") or []) or []


def _query_selects(query: dict[str, Any]) -> bool:
    return bool(query.get("type") or query.get("tag") or query.get("tags"))


def _query_tags(query: dict[str, Any]) -> list[str]:
    tags = [str(t) for t in query.get("tags") or []]
    return tags + ([str(query["tag"])] if query.get("tag") else [])


def resolve(cluster: Cluster, wanted: Wanted) -> None:
    """The secrets ``wanted`` selects, once the policy lets the agent receive each."""
    if wanted.reason:
        return
    spec, organization = wanted.spec, cluster.organization
    if spec.get("secretName"):
        rows = list(SecretIndex.objects.for_org(organization).filter(name=str(spec["secretName"])))
    else:
        query = spec["query"]
        rows = list(
            secret_selectors.secret_list(
                organization=organization, type=query.get("type"), tags=_query_tags(query)
            ).order_by("name")
        )
    if not rows:
        wanted.fail("SecretNotFound", "No secret of the organization matches.")
        return
    agent = scope.standing(cluster, wanted.namespace)
    refused = [r.name for r in rows if not policy.allows(agent, "secret.values.read", r)]
    if refused:
        wanted.fail(
            "OutOfScope",
            f"{', '.join(refused)}: outside the scope of cluster {cluster.name} in "
            f"{wanted.namespace} (an admin of the organization sets the scope).",
        )
        return
    wanted.rows = rows


def digest(rows: list[SecretIndex]) -> str:
    text = ",".join(sorted(f"{r.secret_id}:{r.version}" for r in rows))
    return hashlib.sha256(text.encode()).hexdigest()


def _data(wanted: Wanted, values: list[Any], now: Any) -> tuple[str, dict[str, str]]:
    """The Secret's type and data: one secret's (mapped), or a query's secrets merged."""
    kind = "Opaque"
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for row, got in zip(wanted.rows, values, strict=True):
        if isinstance(got, Exception):
            raise got
        obj = kube_object(row, got, now, name=wanted.target, spec=wanted.mapping)
        for key, value in obj.data.items():
            if key in merged:
                raise ValidationError(
                    {"spec.query": f"{owner[key]} and {row.name} both hold {key}."}
                )
            merged[key], owner[key] = value, row.name
        kind = obj.type if len(wanted.rows) == 1 else "Opaque"
    return kind, merged


def _secret(
    cluster: Cluster, wanted: Wanted, kind: str, data: dict[str, str], version: str, now: Any
) -> dict[str, Any]:
    return {
        "name": wanted.target,
        "type": kind,
        "data": data,
        "labels": managed_labels(cluster),
        "annotations": {
            SYNC_ANNOTATION: wanted.name,
            f"{ANNOTATION}version": version,
            f"{ANNOTATION}installed-at": now.isoformat(),
        },
    }


def answer(cluster: Cluster, wanted: Wanted, values: list[Any], now: Any) -> dict[str, Any]:
    """The protocol's answer for one sync (``secret`` null when it cannot be applied)."""
    body: dict[str, Any] = {"namespace": wanted.namespace, "name": wanted.name, "secret": None}
    version = digest(wanted.rows) if wanted.rows else ""
    if not wanted.reason:
        try:
            kind, data = _data(wanted, values, now)
        except (ValidationError, PermissionDenied, NotFoundError, VaultUnavailableError) as exc:
            wanted.fail("RenderFailed", refusal(exc))
        else:
            body["secret"] = _secret(cluster, wanted, kind, data, version, now)
            body["workloads"] = wanted.workloads
            body["restartFor"] = hashlib.sha256(version.encode()).hexdigest()
    body.update(
        ready=not wanted.reason,
        reason=wanted.reason or "Rendered",
        message=wanted.message,
        version=version,
        secretIds=[r.secret_id for r in wanted.rows],
    )
    return body


def remember(cluster: Cluster, wanted: Wanted, body: dict[str, Any]) -> None:
    """Keep the server's record of the sync: what it selects, for the change events."""
    SecretSync.objects.update_or_create(
        cluster=cluster,
        namespace=wanted.namespace,
        name=wanted.name,
        defaults={
            "spec": wanted.spec,
            "target": wanted.target,
            "secret_ids": body["secretIds"],
            "version": body["version"],
            "reason": body["reason"],
            "message": body["message"][:2000],
            "updated_at": timezone.now(),
            # Ready once the agent reports it applied; a sync that cannot be is not.
            **({"ready": False} if wanted.reason else {}),
        },
    )


def render(
    cluster: Cluster, raw_syncs: list[Any], reads: Reads, *, every: bool
) -> list[dict[str, Any]]:
    """Render the syncs the agent sent; with ``every`` they are all the cluster has, and
    the records of the others are dropped."""
    wanted = [clean(raw) for raw in raw_syncs]
    for item in wanted:
        resolve(cluster, item)
    pairs = [(item.namespace, row) for item in wanted for row in item.rows]
    values = iter(reads.many(pairs))
    now = timezone.now()
    answers = []
    for item in wanted:
        body = answer(cluster, item, [next(values) for _ in item.rows], now)
        remember(cluster, item, body)
        answers.append(body)
    if every:
        keep = {(item.namespace, item.name) for item in wanted}
        stale = [
            pk
            for pk, namespace, name in SecretSync.objects.filter(cluster=cluster).values_list(
                "pk", "namespace", "name"
            )
            if (namespace, name) not in keep
        ]
        SecretSync.objects.filter(pk__in=stale).delete()
    return answers
