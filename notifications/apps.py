from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # The periodic command queues a worker run for deliveries due again (retries,
        # deferred ones); the worker (manage.py db_worker) sends them.
        from notifications import tasks
        from pipeline_secrets.core import periodic

        periodic.register("notifications", tasks.enqueue_due)

        # Invitations (orgs) and account mails (accounts) leave through the worker too.
        from orgs import reporting

        reporting.install_mail_queue(tasks.queue_mail)

        # Audit events of the actions an event kind follows become notifications, in the
        # transaction that records them (notifications.audit_events).
        from notifications import audit_events

        reporting.install_audit_listener(audit_events.heard)

        member_events()

        # The organization's Notifications tab.
        from orgs import navigation

        navigation.register_link(
            "notifications",
            "Notifications",
            "notifications:list",
            action="notification.manage",
            weight=70,
        )


def member_events() -> None:
    """Member changes: ``orgs`` and ``accounts`` sit below or beside this app, so their kinds
    are named here (``notifications.events``)."""
    from notifications.events import register_event

    register_event(
        "member.added",
        "Someone joined the organization.",
        group="Members",
        audit={
            "member.add": "{member} joined as {role}",
            "member.sync.add": "{member} joined as {role} (from {purpose})",
        },
    )
    register_event(
        "member.removed",
        "Someone left or was removed.",
        audit={
            "member.remove": "{actor} removed {member}",
            "member.sync.remove": "{member} was removed (from {purpose})",
        },
    )
    register_event(
        "member.role_changed",
        "A member's role changed.",
        audit={
            "member.role": "{actor} made {member} {role}",
            "member.sync.role": "{member} is now {role} (from {purpose})",
        },
    )
