import logging

from django.apps import AppConfig

logger = logging.getLogger(__name__)


class OrgsConfig(AppConfig):
    name = "orgs"
    verbose_name = "Organizations"

    def ready(self) -> None:
        # The organization's own tabs; the apps above add theirs (orgs.navigation).
        from orgs import navigation

        navigation.register_link(
            "members", "Members", "dashboard:members", action="member.view", weight=20
        )
        navigation.register_link(
            "invites", "Invitations", "dashboard:invites", action="invitation.manage", weight=40
        )
        navigation.register_link(
            "settings", "Sign-in", "dashboard:signin-settings", action="signin.manage", weight=50
        )

        # GitHub memberships are asked again; those GitHub no longer grants end.
        from orgs import providers
        from pipeline_secrets.core import periodic

        periodic.register("orgs.provider-recheck", providers.run_due)

        from orgs import oidc, signin  # noqa: F401  (signin connects the sign-in receivers)

        # LDAP sign-in's endpoints come from the provider's discovery document, read once
        # here; when the provider is not up yet, the first LDAP sign-in tries again.
        if oidc.enabled():
            try:
                oidc.configure()
            except oidc.OidcUnavailable as exc:
                logger.warning("LDAP sign-in not ready yet: %s", exc)
