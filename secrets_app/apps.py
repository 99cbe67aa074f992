from django.apps import AppConfig


class SecretsAppConfig(AppConfig):
    name = "secrets_app"
    verbose_name = "Secrets"

    def ready(self) -> None:
        # The values of some types are credentials (``values_role``): the policy asks more.
        from orgs import policy
        from secrets_app import values

        policy.register_object_rule("secret.", values.type_rule)

        # The periodic command queues these for the worker when they are due
        # (secrets_app/management/commands, secrets_app/tasks.py).
        from pipeline_secrets.core import periodic
        from secrets_app import tasks

        periodic.register("secrets.rotation", tasks.enqueue_rotations)
        periodic.register("secrets.renewal", tasks.enqueue_renewals)

        # The activity page links events to the secrets still there, and filters by them.
        from audit import activity
        from secrets_app import selectors

        activity.register_target("secret", selectors.existing_ids, selectors.detail_url)
        activity.register_kind("secret.", "Secrets", weight=10)
        activity.register_kind("secret.read", "Values read", weight=20)

        # What an organization may be notified of about its secrets.
        notification_events()

        # The organization's first tab, and where people land in an organization.
        from orgs import navigation

        navigation.register_link(
            "secrets", "Secrets", "secrets:list", action="secret.list", weight=10, landing=True
        )


def notification_events() -> None:
    """The notification event kinds of secrets (``notifications.events``)."""
    from notifications.events import register_event

    register_event(
        "secret.created",
        "A secret was created.",
        group="Secrets",
        audit={"secret.create": "{actor} created {name} (version {version})"},
    )
    register_event(
        "secret.updated",
        "A secret got a new version (edit, rollback) or tags.",
        audit={
            "secret.update": "{actor} updated {name} (version {version})",
            "secret.rollback": "{actor} rolled {name} back to version {source}",
            "secret.tag.add": "{actor} tagged {name}",
            "secret.tag.remove": "{actor} untagged {name}",
        },
    )
    register_event(
        "secret.deleted",
        "A secret, or one version of it, was deleted.",
        audit={
            "secret.delete": "{actor} deleted {name}",
            "secret.version.destroy": "{actor} destroyed version {version} of {name}",
        },
    )
    register_event("secret.rotated", "A secret was rotated or renewed.")
    register_event("secret.rotation_failed", "A rotation or renewal failed.")
    register_event("secret.expiring", "A certificate of a secret is inside its renewal window.")
    register_event(
        "secret.read",
        "Someone was shown values of a secret: who, which fields.",
        opt_in=True,
        audit={"secret.read": "{actor} read values of {name}"},
    )
