from django.apps import AppConfig


class DatabasesConfig(AppConfig):
    name = "databases"
    verbose_name = "Dynamic database credentials"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from clusters.models import Installation
        from databases import selectors, tasks
        from pipeline_secrets.core import periodic

        # An installed copy removed (uninstall, expiry, its secret or cluster deleted):
        # the credentials it carried are revoked by the worker.
        post_delete.connect(on_installation_deleted, sender=Installation, weak=False)
        # Installed credentials are renewed, replaced and revoked by the worker.
        periodic.register("databases.leases", tasks.enqueue_due)

        from notifications.events import register_event

        register_event(
            "database.credentials_failed",
            "Installed database credentials could not be renewed, replaced or revoked.",
            group="Databases",
        )

        from audit import activity

        activity.register_target(
            "database_connection", selectors.existing_connection_ids, selectors.connection_url
        )
        activity.register_target("database_role", selectors.existing_role_ids, selectors.role_url)
        activity.register_kind("database.", "Databases", weight=70)

        from orgs import navigation

        navigation.register_link(
            "databases", "Databases", "databases:list", action="database.list", weight=35
        )


def on_installation_deleted(sender: object, instance: object, **kwargs: object) -> None:
    from databases import tasks

    organization_id = getattr(getattr(instance, "cluster", None), "organization_id", None)
    if organization_id is None:
        return
    tasks.installation_gone(
        organization_id=organization_id, secret_id=str(getattr(instance, "secret_id", ""))
    )
