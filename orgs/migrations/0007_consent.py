"""Consent: an invitation may name the account it was sent to (``invitee``), and the
membership of an organization's creator says so (``source="creator"``), found for existing
organizations from their ``org.create`` audit event. Memberships an admin added directly
before invitations replaced that keep the empty source: nobody consented to them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def mark_creators(apps, schema_editor):
    AuditEvent = apps.get_model("orgs", "AuditEvent")
    Membership = apps.get_model("orgs", "Membership")
    created = AuditEvent.objects.filter(action="org.create", organization__isnull=False)
    for organization_id, actor in created.values_list("organization_id", "actor").iterator():
        Membership.objects.filter(
            organization_id=organization_id, user__username=actor, source=""
        ).update(source="creator")


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0006_provider_origin"),
    ]

    operations = [
        migrations.AddField(
            model_name="invitation",
            name="invitee",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="membership",
            name="source",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "admin"),
                    ("creator", "creating it"),
                    ("invitation", "invitation"),
                    ("github", "GitHub organization"),
                    ("ldap", "LDAP group"),
                ],
                default="",
                max_length=12,
            ),
        ),
        migrations.RunPython(mark_creators, migrations.RunPython.noop),
    ]
