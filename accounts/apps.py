import logging

from django.apps import AppConfig

logger = logging.getLogger(__name__)


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and sign-in"

    def ready(self) -> None:
        # GitHub memberships are asked again by the worker (the periodic command queues it);
        # those GitHub no longer grants end.
        from accounts import tasks
        from pipeline_secrets.core import periodic

        periodic.register("orgs.provider-recheck", tasks.enqueue_recheck)

        # The organization's Sign-in tab (its GitHub link and group mappings).
        from orgs import navigation

        navigation.register_link(
            "settings", "Sign-in", "accounts:signin-settings", action="signin.manage", weight=50
        )
        navigation.register_account_link("password", "Password", "password_change", weight=30)

        from accounts import oidc, signin  # noqa: F401  (signin connects the sign-in receivers)

        # LDAP sign-in's endpoints come from the provider's discovery document, read once
        # here; when the provider is not up yet, the first LDAP sign-in tries again.
        if oidc.enabled():
            try:
                oidc.configure()
            except oidc.OidcUnavailable as exc:
                logger.warning("LDAP sign-in not ready yet: %s", exc)
