"""Task rows queued before the worker's tasks moved here name them by their old path
(``orgs.tasks.deliver_notifications``, ``orgs.tasks.send_sealed_mail``): a worker would no
longer find them. Rows not yet run are pointed at the new path; finished ones are history
and stay as they were."""

from django.db import migrations

MOVED = {
    "orgs.tasks.deliver_notifications": "notifications.tasks.deliver_notifications",
    "orgs.tasks.send_sealed_mail": "notifications.tasks.send_sealed_mail",
}
NOT_RUN = ("READY", "RUNNING")


def point_at(apps, schema_editor, paths):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    for old, new in paths.items():
        DBTaskResult.objects.filter(task_path=old, status__in=NOT_RUN).update(task_path=new)


def forwards(apps, schema_editor):
    point_at(apps, schema_editor, MOVED)


def backwards(apps, schema_editor):
    point_at(apps, schema_editor, {new: old for old, new in MOVED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
