"""What the task worker runs for database credentials, and what the periodic round queues."""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from clusters.models import Installation
from databases import installs, keeping
from databases.models import DatabaseInstall
from pipeline_secrets.core import queue


@task()
def keep_leases(now: str) -> dict[str, int]:
    """Renew, replace and revoke installed credentials (``databases.keeping``)."""
    return keeping.run(datetime.fromisoformat(now))


@task()
def retire_install(install_id: int) -> dict[str, int]:
    """Revoke the credentials of an install whose copies are gone, and delete its secret."""
    item = DatabaseInstall.objects.filter(pk=install_id).select_related("organization").first()
    if item is None or item.status == DatabaseInstall.Status.REMOVED:
        return {"retired": 0}
    installs.retire(item, actor=installs.INSTALLER)
    return {"retired": 1}


def enqueue_due(now: datetime) -> dict[str, int]:
    """The periodic job: queue a round of upkeep when a lease is due."""
    if not keeping.due(now):
        return {"queued": 0}
    return {"queued": queue.enqueue_once(keep_leases, now=now.isoformat())}


def installation_gone(*, organization_id: int, secret_id: str) -> None:
    """An installed copy was removed: when no copy of a managed secret is left, its install
    is retired (its leases revoked, the secret deleted) by the worker."""
    item = DatabaseInstall.objects.filter(
        organization_id=organization_id, secret_id=secret_id, status=DatabaseInstall.Status.ACTIVE
    ).first()
    if item is None:
        return
    if Installation.objects.filter(
        cluster__organization_id=organization_id, secret_id=secret_id
    ).exists():
        return
    retire_install.enqueue(install_id=item.pk)
