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

        # The organization's Notifications tab.
        from orgs import navigation

        navigation.register_link(
            "notifications",
            "Notifications",
            "notifications:list",
            action="notification.manage",
            weight=70,
        )
