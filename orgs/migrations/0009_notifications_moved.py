"""The notification models now live in the ``notifications`` app (its 0001 took the tables
over as they are); here they only leave this app's migration state. Nothing changes in the
database."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0008_audit_event_moved"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="NotificationDelivery"),
                migrations.DeleteModel(name="NotificationTarget"),
            ],
            database_operations=[],
        ),
    ]
