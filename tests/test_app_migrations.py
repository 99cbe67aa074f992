"""The models cut out of ``orgs`` into ``audit``, ``notifications`` and ``accounts`` keep their
tables: a database made before the cut migrates forward with every row in place and nothing
copied, on SQLite and PostgreSQL alike; task rows queued then find their task's new path."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Model
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import GitHubLink, GroupMapping, OidcIdentity, SetupClaim
from audit.models import AuditEvent
from notifications.models import NotificationDelivery, NotificationTarget

BEFORE_THE_CUT = [
    ("orgs", "0007_consent"),
    ("audit", None),
    ("notifications", None),
    ("accounts", None),
]
MOVED: tuple[type[Model], ...] = (
    AuditEvent,
    NotificationTarget,
    NotificationDelivery,
    GitHubLink,
    GroupMapping,
    OidcIdentity,
    SetupClaim,
)


def migrate(targets: list[tuple[str, str | None]] | None = None) -> Any:
    """Migrate to ``targets`` (default: the latest); the state's apps there."""
    executor = MigrationExecutor(connection)
    wanted = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(wanted)
    executor.loader.build_graph()
    reached = [(app, name) for app, name in wanted if name is not None]
    return executor.loader.project_state(reached).apps


def rows_made_before_the_cut(old: Any) -> dict[str, Any]:
    """One row of each moved model, written with the models as ``orgs`` had them."""
    organization = old.get_model("orgs", "Organization").objects.create(name="before")
    user = old.get_model("orgs", "User").objects.create(username="before")
    target = old.get_model("orgs", "NotificationTarget").objects.create(
        organization=organization, kind="webhook", name="hook", url="https://example.org/"
    )
    made = {
        "event": old.get_model("orgs", "AuditEvent")
        .objects.create(organization=organization, actor="before", action="org.create")
        .pk,
        "target": target.pk,
        "delivery": old.get_model("orgs", "NotificationDelivery")
        .objects.create(organization=organization, target=target, event="e", subject="s")
        .pk,
        "link": old.get_model("orgs", "GitHubLink")
        .objects.create(organization=organization, github_org="acme")
        .pk,
        "mapping": old.get_model("orgs", "GroupMapping")
        .objects.create(organization=organization, group="developers")
        .pk,
        "identity": old.get_model("orgs", "OidcIdentity")
        .objects.create(user=user, issuer="https://dex", subject="s1")
        .pk,
    }
    old.get_model("orgs", "SetupClaim").objects.create(pk=1, created_at=timezone.now())
    for status in ("READY", "SUCCESSFUL"):  # one queued delivery run, one that ran
        made[status] = DBTaskResult.objects.create(
            status=status,
            task_path="orgs.tasks.deliver_notifications",
            args_kwargs={"args": [], "kwargs": {}},
            backend_name="default",
            run_after=timezone.now(),
            exception_class_path="",
            traceback="",
        ).pk
    return made


@pytest.mark.django_db(transaction=True)
def test_the_moved_models_keep_their_tables_and_rows() -> None:
    made = rows_made_before_the_cut(migrate(BEFORE_THE_CUT))
    tables_before = set(connection.introspection.table_names())

    migrate()

    # Every table is still there; the apps that came after the cut (their first migration
    # needs the orgs of after it) have theirs again, and models added since have theirs.
    tables_after = set(connection.introspection.table_names())
    assert tables_before <= tables_after
    added_since = ("databases_", "governance_", "accounts_devicecode")
    assert all(t.startswith(added_since) for t in tables_after - tables_before)
    assert all(model._meta.db_table.startswith("orgs_") for model in MOVED)
    assert AuditEvent.objects.get(pk=made["event"]).action == "org.create"
    delivery = NotificationDelivery.objects.select_related("target").get(pk=made["delivery"])
    assert delivery.target.pk == made["target"] and delivery.target.name == "hook"
    assert GitHubLink.objects.get(pk=made["link"]).github_org == "acme"
    assert GroupMapping.objects.get(pk=made["mapping"]).group == "developers"
    assert OidcIdentity.objects.get(pk=made["identity"]).user.username == "before"
    assert SetupClaim.objects.filter(pk=1).exists()
    # A queued task finds its code where it lives now; a finished one keeps its history.
    paths = dict(DBTaskResult.objects.values_list("pk", "task_path"))
    assert paths[made["READY"]] == "notifications.tasks.deliver_notifications"
    assert paths[made["SUCCESSFUL"]] == "orgs.tasks.deliver_notifications"
