from django.apps import AppConfig


class OrgsConfig(AppConfig):
    name = "orgs"
    verbose_name = "Organizations"

    def ready(self) -> None:
        # Notifications that failed are retried by the periodic command.
        from orgs import notifications
        from pipeline_secrets.core import periodic

        periodic.register("notifications", notifications.run_due)
