import logging

from django.apps import AppConfig

logger = logging.getLogger(__name__)


class OrgsConfig(AppConfig):
    name = "orgs"
    verbose_name = "Organizations"

    def ready(self) -> None:
        # The periodic command queues a worker run for deliveries due again (retries,
        # deferred ones); the worker (manage.py db_worker) sends them.
        from orgs import tasks
        from pipeline_secrets.core import periodic

        periodic.register("notifications", tasks.enqueue_due)
        periodic.register("tasks.prune", tasks.prune_finished)

        # GitHub memberships are asked again; those GitHub no longer grants end.
        from orgs import providers

        periodic.register("orgs.provider-recheck", providers.run_due)

        from orgs import oidc, signin  # noqa: F401  (signin connects the sign-in receivers)

        # LDAP sign-in's endpoints come from the provider's discovery document, read once
        # here; when the provider is not up yet, the first LDAP sign-in tries again.
        if oidc.enabled():
            try:
                oidc.configure()
            except oidc.OidcUnavailable as exc:
                logger.warning("LDAP sign-in not ready yet: %s", exc)
