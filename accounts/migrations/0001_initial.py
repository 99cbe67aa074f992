"""Sign-in's tables, made by ``orgs`` (0004_signin), now belong to this app.

Only the migration state moves: the tables keep their names (``orgs_githublink``,
``orgs_groupmapping``, ``orgs_oidcidentity``, ``orgs_setupclaim``), rows and constraints, so
nothing is copied on SQLite or PostgreSQL. ``orgs`` 0010 drops the models from its own state
once this has taken them over.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

ROLES = [("viewer", "Viewer"), ("member", "Member"), ("admin", "Admin")]


def bigint_id() -> models.BigAutoField:
    return models.BigAutoField(
        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
    )


def organization(related_name: str, kind: type = models.ForeignKey) -> models.Field:
    return kind(
        on_delete=django.db.models.deletion.CASCADE,
        related_name=related_name,
        to="orgs.organization",
    )


STATE = [
    migrations.CreateModel(
        name="SetupClaim",
        fields=[
            ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
            ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
        ],
        options={"db_table": "orgs_setupclaim"},
    ),
    migrations.CreateModel(
        name="GitHubLink",
        fields=[
            ("id", bigint_id()),
            ("github_org", models.CharField(max_length=100)),
            ("default_role", models.CharField(choices=ROLES, default="viewer", max_length=10)),
            ("team_roles", models.JSONField(blank=True, default=dict)),
            ("organization", organization("github_link", models.OneToOneField)),
        ],
        options={"db_table": "orgs_githublink"},
    ),
    migrations.CreateModel(
        name="GroupMapping",
        fields=[
            ("id", bigint_id()),
            ("group", models.CharField(max_length=200)),
            ("role", models.CharField(choices=ROLES, default="viewer", max_length=10)),
            ("organization", organization("group_mappings")),
        ],
        options={
            "db_table": "orgs_groupmapping",
            "ordering": ["group"],
            "constraints": [
                models.UniqueConstraint(fields=("organization", "group"), name="uniq_group_mapping")
            ],
        },
    ),
    migrations.CreateModel(
        name="OidcIdentity",
        fields=[
            ("id", bigint_id()),
            ("issuer", models.CharField(max_length=255)),
            ("subject", models.CharField(max_length=255)),
            ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            (
                "user",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="oidc_identities",
                    to=settings.AUTH_USER_MODEL,
                ),
            ),
        ],
        options={
            "db_table": "orgs_oidcidentity",
            "constraints": [
                models.UniqueConstraint(fields=("issuer", "subject"), name="uniq_oidc_identity")
            ],
        },
    ),
]


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("orgs", "0009_notifications_moved"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=STATE, database_operations=[]),
    ]
