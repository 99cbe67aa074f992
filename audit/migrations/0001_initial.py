"""The audit trail's table, made by ``orgs`` (0002_audit_event), now belongs to this app.

Only the migration state moves: the table keeps its name (``orgs_auditevent``), its rows and
its indexes, so nothing is copied on SQLite or PostgreSQL. ``orgs`` 0008 drops the model
from its own state once this has taken it over.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("orgs", "0007_consent"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("actor", models.CharField(max_length=150)),
                        ("action", models.CharField(max_length=40)),
                        ("target_type", models.CharField(max_length=20)),
                        ("target_id", models.CharField(blank=True, max_length=64)),
                        ("target_name", models.CharField(blank=True, max_length=253)),
                        ("detail", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "organization",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="audit_events",
                                to="orgs.organization",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "orgs_auditevent",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(
                                fields=["organization", "-created_at"], name="audit_org_time"
                            ),
                            models.Index(
                                fields=["organization", "target_id"], name="audit_org_target"
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
