"""The notification tables, made by ``orgs`` (0005_notifications), now belong to this app.

Only the migration state moves: the tables keep their names (``orgs_notificationtarget``,
``orgs_notificationdelivery``), rows and indexes, so nothing is copied on SQLite or
PostgreSQL. ``orgs`` 0009 drops the models from its own state once this has taken them over.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def bigint_id() -> models.BigAutoField:
    return models.BigAutoField(
        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
    )


TARGET = migrations.CreateModel(
    name="NotificationTarget",
    fields=[
        ("id", bigint_id()),
        (
            "kind",
            models.CharField(choices=[("email", "E-mail"), ("webhook", "Webhook")], max_length=10),
        ),
        ("name", models.CharField(max_length=100)),
        ("emails", models.JSONField(blank=True, default=list)),
        ("url", models.URLField(blank=True, max_length=2000)),
        ("events", models.JSONField(blank=True, default=list)),
        ("signing_secret_encrypted", models.TextField(blank=True)),
        ("created_by", models.CharField(blank=True, max_length=150)),
        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
        (
            "organization",
            models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notification_targets",
                to="orgs.organization",
            ),
        ),
    ],
    options={"db_table": "orgs_notificationtarget", "ordering": ["name", "id"]},
)

DELIVERY = migrations.CreateModel(
    name="NotificationDelivery",
    fields=[
        ("id", bigint_id()),
        ("event", models.CharField(max_length=40)),
        ("subject", models.CharField(max_length=200)),
        ("detail", models.JSONField(blank=True, default=dict)),
        (
            "status",
            models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("sending", "Sending"),
                    ("delivered", "Delivered"),
                    ("failed", "Failed"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
        ("attempts", models.PositiveSmallIntegerField(default=0)),
        ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
        ("lease_until", models.DateTimeField(blank=True, null=True)),
        ("response_code", models.PositiveSmallIntegerField(blank=True, null=True)),
        ("last_error", models.CharField(blank=True, max_length=300)),
        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
        ("delivered_at", models.DateTimeField(blank=True, null=True)),
        (
            "organization",
            models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notification_deliveries",
                to="orgs.organization",
            ),
        ),
        (
            "target",
            models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="notifications.notificationtarget",
            ),
        ),
    ],
    options={
        "db_table": "orgs_notificationdelivery",
        "ordering": ["-created_at", "-id"],
        "indexes": [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["organization", "-created_at"], name="delivery_org_time"),
        ],
    },
)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("orgs", "0008_audit_event_moved"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[TARGET, DELIVERY], database_operations=[]
        ),
    ]
