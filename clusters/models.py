"""Clusters of an organization and the secrets installed into them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from orgs.models import Organization, OrgScopedQuerySet

# Kubernetes' own namespaces: outside every cluster's rule unless an admin changes it.
DEFAULT_NAMESPACE_DENY = ("kube-system", "kube-public", "kube-node-lease")


def default_allow() -> list[str]:
    return ["*"]


def default_deny() -> list[str]:
    return list(DEFAULT_NAMESPACE_DENY)


def empty_scope() -> dict[str, list[str]]:
    """An agent cluster's scope until an admin sets one: it receives nothing."""
    return {"namespaces": [], "tags": [], "secrets": []}


class ClusterQuerySet(OrgScopedQuerySet["Cluster"]):
    pass


class Cluster(models.Model):
    """A Kubernetes cluster: reached by the server through a ``kubernetes`` secret of the
    same org (``kubeconfig`` mode), or reaching out to the server through its in-cluster
    agent (``agent`` mode: no kubeconfig here; see docs/agent-protocol.md)."""

    class Mode(models.TextChoices):
        KUBECONFIG = "kubeconfig"
        AGENT = "agent"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="clusters"
    )
    name = models.CharField(max_length=63)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.KUBECONFIG)
    # Empty for an agent cluster.
    kubeconfig_secret_id = models.CharField(max_length=64, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    checked_at = models.DateTimeField(null=True, blank=True)
    reachable = models.BooleanField(null=True)
    server_version = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    # The namespace rule (``clusters.namespaces``): fnmatch patterns; members act only in a
    # namespace matching an allow pattern and no deny pattern, admins anywhere.
    namespace_allow = models.JSONField(default=default_allow)
    namespace_deny = models.JSONField(default=default_deny)
    # Agent mode: the SHA-256 of the agent's token (shown once), its first characters for
    # recognising it, what the agent may receive (``scope``) and its heartbeat.
    agent_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    agent_token_prefix = models.CharField(max_length=12, blank=True)
    agent_token_created_at = models.DateTimeField(null=True, blank=True)
    scope = models.JSONField(default=empty_scope)
    agent_version = models.CharField(max_length=64, blank=True)
    agent_seen_at = models.DateTimeField(null=True, blank=True)
    # The newest change event id pruned: an agent's cursor older than this missed events.
    changes_pruned_through = models.BigIntegerField(default=0)

    objects = ClusterQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="uniq_cluster_name"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class InstallationQuerySet(OrgScopedQuerySet["Installation"]):
    org_path = "cluster__organization"


class Installation(models.Model):
    """One secret installed as a v1.Secret in one namespace of one cluster.

    One row per Kubernetes Secret: the latest install or merge into it is the one tracked."""

    class Status(models.TextChoices):
        INSTALLED = "installed"
        # The secret changed (or is being deleted): the worker brings this copy along.
        PENDING = "pending"
        FAILED = "failed"

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="installations")
    namespace = models.CharField(max_length=63)
    secret_id = models.CharField(max_length=64)
    secret_name = models.CharField(max_length=253)
    kube_name = models.CharField(max_length=253)
    version = models.PositiveIntegerField()
    sourcing = models.CharField(max_length=10)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.INSTALLED)
    installed_by = models.CharField(max_length=150, blank=True)
    installed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # The key mapping of a one-secret install (``clusters.mapping``), so a re-sync reproduces
    # it; null: the type's own keys. Literal values are not kept here (see ``mapping``).
    spec = models.JSONField(null=True, blank=True)
    # True when the keys were merged into a Secret that holds other keys too: a re-sync
    # rewrites only ``keys`` and an uninstall removes only them.
    merged = models.BooleanField(default=False)
    # The names (never the values) of the data keys this installation wrote.
    keys = models.JSONField(default=list)
    # Workloads ({kind, name}: Deployments, StatefulSets, DaemonSets of the same namespace)
    # rolled when the installed copy's data changes, and how the last restart went.
    workloads = models.JSONField(default=list)
    restarted_at = models.DateTimeField(null=True, blank=True)
    restarted_for = models.CharField(max_length=64, blank=True)
    restart_error = models.TextField(blank=True)
    # Set by the periodic job (``expire_and_retry``) that claimed this row: until then no
    # other runner takes it, so each due item is handled once per round, however many
    # replicas or CronJob pods run the job at once.
    claimed_until = models.DateTimeField(null=True, blank=True)
    # Agent clusters: when the agent last reported this copy applied (at ``version``).
    applied_at = models.DateTimeField(null=True, blank=True)

    objects = InstallationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "namespace", "kube_name"], name="uniq_installation"
            ),
        ]
        indexes = [
            models.Index(fields=["secret_id"], name="installation_secret"),
            models.Index(fields=["expires_at"], name="installation_expiry"),
        ]
        ordering = ["namespace", "kube_name"]

    def __str__(self) -> str:
        return f"{self.kube_name} in {self.cluster}/{self.namespace}"


class ChangeEventQuerySet(OrgScopedQuerySet["ChangeEvent"]):
    org_path = "cluster__organization"


class ChangeEvent(models.Model):
    """One change an agent cluster's agent must apply; its id is the agent's cursor.

    Written in the transaction of the change it announces; the payload names objects,
    never a value (docs/agent-protocol.md lists the kinds)."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="changes")
    created_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField()

    objects = ChangeEventQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["cluster", "id"], name="change_cursor")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"change {self.pk} for {self.cluster_id}"


class SecretSyncQuerySet(OrgScopedQuerySet["SecretSync"]):
    org_path = "cluster__organization"


class SecretSync(models.Model):
    """The server's record of a ``SecretSync`` object in an agent cluster: what it asks
    for, which secrets it resolved to and how its last application went."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="secret_syncs")
    namespace = models.CharField(max_length=63)
    name = models.CharField(max_length=253)
    spec = models.JSONField(default=dict)
    target = models.CharField(max_length=253)
    secret_ids = models.JSONField(default=list)
    # The digest of the secret ids and versions last rendered, and last applied.
    version = models.CharField(max_length=64, blank=True)
    applied_version = models.CharField(max_length=64, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    ready = models.BooleanField(default=False)
    reason = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = SecretSyncQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "namespace", "name"], name="uniq_secret_sync"
            ),
        ]
        ordering = ["namespace", "name"]

    def __str__(self) -> str:
        return f"SecretSync {self.namespace}/{self.name} in {self.cluster}"


class DriftEventQuerySet(OrgScopedQuerySet["DriftEvent"]):
    org_path = "cluster__organization"


class DriftEvent(models.Model):
    """A managed Secret edited or deleted by hand in an agent cluster, as its agent
    reported it (and whether it restored it)."""

    class Change(models.TextChoices):
        EDITED = "edited"
        DELETED = "deleted"

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="drift_events")
    namespace = models.CharField(max_length=63)
    kube_name = models.CharField(max_length=253)
    change = models.CharField(max_length=10, choices=Change.choices)
    repaired = models.BooleanField(default=False)
    detected_at = models.DateTimeField(default=timezone.now)

    objects = DriftEventQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["cluster", "detected_at"], name="drift_recent")]
        ordering = ["-detected_at"]

    def __str__(self) -> str:
        return f"{self.change} {self.kube_name} in {self.cluster_id}/{self.namespace}"
