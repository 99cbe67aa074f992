import logging

from django.apps import AppConfig

logger = logging.getLogger(__name__)


class OrgsConfig(AppConfig):
    name = "orgs"
    verbose_name = "Organizations"

    def ready(self) -> None:
        # Notifications that failed are retried by the periodic command.
        from orgs import notifications
        from pipeline_secrets.core import periodic

        periodic.register("notifications", notifications.run_due)

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
