"""What the server wants in the cluster, read from a ``render`` answer: the Secrets to write
(with values), the workloads to restart when their data changes, and the SecretSyncs that
cannot be served (docs/agent-protocol.md). Values live in these objects only; their
``repr`` leaves them out."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

MANAGED_BY = ("app.kubernetes.io/managed-by", "pipeline-secrets")
ORG_LABEL = "secrets.pipeline.io/org-id"
CLUSTER_LABEL = "secrets.pipeline.io/cluster-id"
# Rendered anew at every render: a change of it alone is not a reason to write.
INSTALLED_AT = "secrets.pipeline.io/installed-at"
# What selects the Secrets an agent manages (its own cluster id is checked on each object).
MANAGED_SELECTOR = f"{MANAGED_BY[0]}={MANAGED_BY[1]},{CLUSTER_LABEL}"

Key = tuple[str, str]


@dataclass(frozen=True)
class SecretBody:
    """A v1.Secret as the agent writes it; ``data`` holds plain strings."""

    namespace: str
    name: str
    type: str
    data: dict[str, str] = field(repr=False)
    labels: dict[str, str]
    annotations: dict[str, str]

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

    def encoded(self) -> dict[str, str]:
        """``data`` as the API holds it (base64)."""
        return {k: base64.b64encode(v.encode()).decode() for k, v in self.data.items()}

    def manifest(self, resource_version: str | None = None) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "labels": self.labels,
            "annotations": self.annotations,
        }
        if resource_version:
            metadata["resourceVersion"] = resource_version
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata,
            "type": self.type,
            "data": self.encoded(),
        }


@dataclass(frozen=True)
class Desired:
    """One Secret the server wants, where it comes from (``origin``: ``installation`` with
    its id and version, or ``sync`` with the SecretSync's namespace/name and digest) and
    the workloads told when its data changes."""

    body: SecretBody
    origin: str
    ref: int | Key
    version: str
    workloads: tuple[tuple[str, str], ...] = ()
    restart_for: str = ""


@dataclass(frozen=True)
class SyncVerdict:
    """The server's answer for one SecretSync: served (``desired``) or refused."""

    namespace: str
    name: str
    ready: bool
    reason: str
    message: str
    version: str
    desired: Desired | None


@dataclass
class Rendered:
    """A render answer: the desired objects, the installations gone, the SecretSyncs."""

    cursor: int
    installations: list[Desired] = field(default_factory=list)
    absent: list[int] = field(default_factory=list)
    syncs: list[SyncVerdict] = field(default_factory=list)
    cluster_id: str | None = None
    # A page of "all": whether more follow, and the id the next page starts after.
    more: bool = False
    after: int = 0


def _workloads(items: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(w["kind"]), str(w["name"])) for w in items or ())


def _body(namespace: str, name: str, secret: dict[str, Any]) -> SecretBody:
    return SecretBody(
        namespace=namespace,
        name=name,
        type=str(secret.get("type") or "Opaque"),
        data={str(k): str(v) for k, v in (secret.get("data") or {}).items()},
        labels={str(k): str(v) for k, v in (secret.get("labels") or {}).items()},
        annotations={str(k): str(v) for k, v in (secret.get("annotations") or {}).items()},
    )


def installation(item: dict[str, Any]) -> Desired:
    """A ``state: present`` installation of a render answer."""
    return Desired(
        body=_body(str(item["namespace"]), str(item["name"]), item["secret"]),
        origin="installation",
        ref=int(item["id"]),
        version=str(item.get("version", "")),
        workloads=_workloads(item.get("workloads")),
        restart_for=str(item.get("restartFor") or ""),
    )


def sync_verdict(item: dict[str, Any]) -> SyncVerdict:
    namespace, name = str(item["namespace"]), str(item["name"])
    secret = item.get("secret")
    version = str(item.get("version") or "")
    desired = None
    if item.get("ready") and isinstance(secret, dict):
        desired = Desired(
            body=_body(namespace, str(secret.get("name") or name), secret),
            origin="sync",
            ref=(namespace, name),
            version=version,
            workloads=_workloads(item.get("workloads")),
            restart_for=str(item.get("restartFor") or ""),
        )
    return SyncVerdict(
        namespace=namespace,
        name=name,
        ready=desired is not None,
        reason=str(item.get("reason") or ""),
        message=str(item.get("message") or ""),
        version=version,
        desired=desired,
    )


def rendered(answer: dict[str, Any]) -> Rendered:
    """Read a render answer."""
    result = Rendered(cursor=int(answer.get("cursor") or 0))
    for item in answer.get("installations") or ():
        if item.get("state") == "present":
            result.installations.append(installation(item))
        else:
            result.absent.append(int(item["id"]))
    result.syncs = [sync_verdict(item) for item in answer.get("syncs") or ()]
    for found in [*result.installations, *(s.desired for s in result.syncs if s.desired)]:
        result.cluster_id = found.body.labels.get(CLUSTER_LABEL) or result.cluster_id
    if answer.get("clusterId") is not None:
        result.cluster_id = str(answer["clusterId"])
    result.more, result.after = bool(answer.get("more")), int(answer.get("after") or 0)
    return result
