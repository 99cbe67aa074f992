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


class ClusterQuerySet(OrgScopedQuerySet["Cluster"]):
    pass


class Cluster(models.Model):
    """A Kubernetes cluster, reached through a ``kubernetes`` secret of the same org."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="clusters"
    )
    name = models.CharField(max_length=63)
    kubeconfig_secret_id = models.CharField(max_length=64)
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
