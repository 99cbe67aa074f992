from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        # The apps below this one (orgs) and beside it (accounts, notifications) report their
        # events through orgs.reporting: the trail is written here.
        from audit import services
        from orgs import reporting

        reporting.install_audit(services.record, services.record_all)

        # The activity page's filters for what the apps reporting through orgs.reporting
        # record (orgs, and accounts and notifications beside this app, which may not
        # import it); the apps above register theirs.
        from audit import activity

        activity.register_kind("member.", "Members", weight=30)
        activity.register_kind("signin", "Sign-ins", weight=40)
        activity.register_kind("invitation.", "Invitations", weight=50)
        activity.register_kind("notification.", "Notifications", weight=70)

        # The organization's Activity tab, for whoever may read it.
        from orgs import navigation

        navigation.register_link(
            "activity", "Activity", "audit:activity", action="activity.view", weight=60
        )
        navigation.register_account_link("security", "Security log", "audit:security", weight=20)
