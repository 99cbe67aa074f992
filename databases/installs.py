"""Roles installed into cluster namespaces: fresh credentials per install, kept alive and
replaced by the worker, revoked when the copy goes.

An install issues a credential and keeps it in a **managed secret** of the org (a
``generic`` secret tagged ``dynamic:database``: keys username, password, host, port,
database, uri), installed with the clusters' own install call, so kubeconfig and agent
clusters, re-syncs, workload restarts and change events work as for any secret. A
replacement writes a new version of that secret through the one write path; the copies
follow it like any update. When the installed copy is removed (uninstall, expiry, the
secret or the cluster deleted), ``installation_gone`` queues the revocation.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from clusters import services as cluster_services
from clusters import workloads
from clusters.batch import ItemResult
from clusters.models import Cluster
from clusters.namespaces import validate_label
from databases import credentials, engine
from databases.models import DatabaseInstall, DatabaseLease, DatabaseRole
from databases.services import audit
from orgs import policy
from pipeline_secrets.core.errors import ConflictError, NotFoundError
from secrets_app import selectors as secret_selectors
from secrets_app import services as secrets
from secrets_app.validation import validate_name

MANAGED_TAG = "dynamic:database"
ROLE_TAG = "database-role:{name}"
INSTALLER = policy.System("keep installed database credentials current")


def managed_name(role: DatabaseRole, cluster: Cluster, namespace: str) -> str:
    raw = f"db-{role.connection.name}-{role.name}-{cluster.name}-{namespace}".lower()
    name = re.sub(r"[^a-z0-9.-]+", "-", raw).strip("-.")[:253].rstrip("-.")
    return name


def credential_values(role: DatabaseRole, username: str, password: str) -> dict[str, str]:
    connection = role.connection
    return {
        "username": username,
        "password": password,
        "host": connection.host,
        "port": str(connection.port),
        "database": connection.database,
        "uri": engine.uri(connection, username, password),
    }


def tags(role: DatabaseRole) -> list[str]:
    tag = re.sub(r"[^a-z0-9_.-]+", "-", role.name.lower())
    return [MANAGED_TAG, ROLE_TAG.format(name=tag)]


def install(
    *,
    actor: policy.Actor,
    role: DatabaseRole,
    cluster: Cluster,
    namespace: Any,
    workload_list: Any = None,
    name: Any = None,
) -> tuple[DatabaseInstall, list[ItemResult]]:
    """Install fresh credentials of ``role`` into ``namespace`` of ``cluster`` (same org)."""
    organization = role.organization
    standing = policy.standing_of(actor, organization)
    policy.require(standing, "database.install", role)
    namespace = validate_label(namespace, "namespace")
    cleaned = workloads.clean_workloads(workload_list)
    cluster_services.require_install(standing, cluster, namespace, restarts=cleaned)
    secret_name = validate_name(name) if name else managed_name(role, cluster, namespace)
    if (
        DatabaseInstall.objects.for_org(organization)
        .filter(
            role=role, cluster=cluster, namespace=namespace, status=DatabaseInstall.Status.ACTIVE
        )
        .exists()
    ):
        raise ConflictError(f"Role {role.name} is already installed in {namespace}.")
    item = create(standing, role, cluster, namespace, secret_name)
    query = cluster_services.InstallQuery(ids=[item.secret_id])
    results = cluster_services.install(
        actor=standing, cluster=cluster, namespace=namespace, query=query, workload_list=cleaned
    )
    audit(
        standing, "database.install", organization, role, namespace=namespace, cluster=cluster.name
    )
    if any(result.status == "failed" for result in results):
        retire(item, actor=INSTALLER)
    return item, results


def create(
    standing: policy.Standing,
    role: DatabaseRole,
    cluster: Cluster,
    namespace: str,
    secret_name: str,
) -> DatabaseInstall:
    """Fresh credentials in a new managed secret, and the install that keeps them; the
    credentials are revoked again when anything fails."""
    organization = role.organization
    issued = credentials.issue_for(role, by=policy.actor_name(standing), purpose="install")
    try:
        with transaction.atomic():
            written = secrets.secret_create(
                actor=standing,
                organization=organization,
                name=secret_name,
                type="generic",
                values=credential_values(role, issued.lease.username, issued.password),
                tags=tags(role),
            )
            item = DatabaseInstall.objects.create(
                organization=organization,
                role=role,
                cluster=cluster,
                namespace=namespace,
                secret_id=written.row.secret_id,
                created_by=policy.actor_name(standing),
            )
            DatabaseLease.objects.filter(pk=issued.lease.pk).update(install=item)
    except Exception:
        credentials.revoke_now(issued.lease, actor=INSTALLER)
        raise
    return item


# --------------------------------------------------------------------------- the worker's


def renew(lease: DatabaseLease, now: Any) -> None:
    """Renew an install's lease by the role's TTL (the engine caps it at the max TTL)."""
    from secrets_app.vault import database as vault_db

    seconds = vault_db.renew(lease.vault_lease_id, lease.role.default_ttl)
    lease.expires_at = now + timedelta(seconds=seconds)
    lease.renewed_at = now
    lease.save(update_fields=["expires_at", "renewed_at"])


def replace(item: DatabaseInstall, now: Any) -> DatabaseLease:
    """New credentials for ``item``: a new version of its managed secret (its copies are
    re-synced and its workloads restarted by the clusters' follow-up), the old lease revoked
    once the grace period has passed."""
    from django.conf import settings

    role = item.role
    old = item.current_lease()
    issued = credentials.issue_for(role, by=policy.actor_name(INSTALLER), purpose="install")
    try:
        with transaction.atomic():
            DatabaseLease.objects.filter(pk=issued.lease.pk).update(install=item)
            row = secret_selectors.secret_get(
                organization=item.organization, secret_id=item.secret_id
            )
            secrets.secret_update(
                actor=INSTALLER,
                organization=item.organization,
                secret_id=item.secret_id,
                values=credential_values(role, issued.lease.username, issued.password),
                tags=row.tags,
            )
            if old is not None:
                grace = timedelta(seconds=settings.DATABASE_REVOKE_GRACE_SECONDS)
                old.revoke_after = min(now + grace, old.max_expires_at)
                old.save(update_fields=["revoke_after"])
            item.replaced_at = now
            item.save(update_fields=["replaced_at"])
            audit(INSTALLER, "database.replace", item.organization, role, namespace=item.namespace)
    except Exception:
        credentials.revoke_now(issued.lease, actor=INSTALLER)
        raise
    return issued.lease


def retire(item: DatabaseInstall, *, actor: policy.Actor) -> None:
    """The installed copy is gone: revoke every lease of ``item`` and delete its secret."""
    for lease in item.leases.filter(revoked_at__isnull=True):
        credentials.revoke_now(lease, actor=actor)
    item.status = DatabaseInstall.Status.REMOVED
    item.save(update_fields=["status"])
    try:
        secrets.secret_delete(actor=actor, organization=item.organization, secret_id=item.secret_id)
    except NotFoundError:
        pass
    except ValidationError:
        pass
