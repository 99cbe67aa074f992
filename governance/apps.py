from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        # Each part plugs itself into the apps below (policy, hooks, navigation, activity,
        # notifications) from its own module.
        from governance import access_setup, breakglass_setup, changes_setup, sharing_setup

        for part in (changes_setup, access_setup, breakglass_setup, sharing_setup):
            part.ready()
