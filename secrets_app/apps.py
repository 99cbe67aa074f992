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

        # The activity page links events to the secrets still there.
        from orgs import activity
        from secrets_app import selectors

        activity.register_target("secret", selectors.existing_ids, selectors.detail_url)
