from django.apps import AppConfig


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
        navigation.register_account_link("tokens", "API tokens", "dashboard:tokens", weight=10)
