"""What the task worker (``manage.py db_worker``) runs for secrets: scheduled rotations and
certificate renewals. The periodic command only queues them when something is due; the
worker runs them (``secrets_app.lifecycle``), each due item claimed first, so a task queued
twice rotates nothing twice. Their new versions reach installed copies like any write: the
write queues the re-syncs.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F
from django_tasks import task

from pipeline_secrets.core import queue
from secrets_app import lifecycle, schedule
from secrets_app.models import SecretIndex, SecretLifecycle


@task()
def rotate_due(now: str) -> dict[str, int]:
    """Rotate the secrets whose schedule is due at ``now``."""
    return lifecycle.run_rotations(datetime.fromisoformat(now))


@task()
def renew_due(now: str) -> dict[str, int]:
    """Renew the certificates due at ``now``; announce expiries nothing can renew."""
    return lifecycle.run_renewals(datetime.fromisoformat(now))


def enqueue_rotations(now: datetime) -> dict[str, int]:
    """The periodic job: queue the rotations due at ``now``. One query when none is."""
    if not SecretLifecycle.objects.filter(next_rotation_at__lte=now).exists():
        return {"queued": 0}
    return {"queued": queue.enqueue_once(rotate_due, now=now.isoformat())}


def enqueue_renewals(now: datetime) -> dict[str, int]:
    """The periodic job: queue renewals (and expiry notices) when a certificate is inside
    its renewal window. Two queries when none is."""
    renewals = SecretLifecycle.objects.filter(renew_at__lte=now)
    # Those lifecycle._announce_expiring tells of, once per expiry.
    notices = (
        SecretIndex.objects.filter(expires_at__lte=now + schedule.renewal_window())
        .exclude(lifecycle__renew_at__isnull=False)
        .exclude(lifecycle__expiry_notified_for=F("expires_at"))
    )
    if not renewals.exists() and not notices.exists():
        return {"queued": 0}
    return {"queued": queue.enqueue_once(renew_due, now=now.isoformat())}
