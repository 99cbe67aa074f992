"""Sign-in's models now live in the ``accounts`` app (its 0001 took the tables over as they
are); here they only leave this app's migration state. Nothing changes in the database."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0009_notifications_moved"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="GitHubLink"),
                migrations.DeleteModel(name="GroupMapping"),
                migrations.DeleteModel(name="OidcIdentity"),
                migrations.DeleteModel(name="SetupClaim"),
            ],
            database_operations=[],
        ),
    ]
