from django.apps import AppConfig


class ClustersConfig(AppConfig):
    name = "clusters"
    verbose_name = "Clusters"

    def ready(self) -> None:
        # secrets_app does not import this app: it announces secret writes and deletes
        # through its hook registry, and installed copies follow them from here.
        from clusters import namespaces, selectors, services, sync, tasks
        from clusters.agent import tasks as agent_tasks
        from orgs import policy
        from secrets_app import hooks

        # Outside a cluster's namespace rule, installing, uninstalling and naming workloads
        # to restart need the admin role.
        policy.register_object_rule("cluster.", namespaces.namespace_rule)

        hooks.on_before_delete(services.refuse_deleting_a_kubeconfig)
        # Both only queue tasks (clusters.tasks): no write waits on a cluster.
        hooks.on_after_write(tasks.follow_secret_write)
        hooks.on_after_delete(tasks.forget_secret)
        hooks.on_verify_kubeconfig(services.verify_kubeconfig)
        hooks.on_installations(selectors.installations_of_secrets)

        # `manage.py periodic` queues the removal of expired installed copies and the retry
        # of failed ones for the worker.
        from pipeline_secrets.core import periodic

        periodic.register("clusters.installations", tasks.enqueue_due)
        # Change events for agents are kept for a while, then pruned by the worker.
        periodic.register("clusters.agent_changes", agent_tasks.enqueue_prune)
        # Its queue and lag are read at each scrape: a CronJob run exits before any scrape.
        from pipeline_secrets.core import metrics

        metrics.on_scrape(sync.measure_backlog)

        # The activity page links events to the clusters still there, and filters by them.
        from audit import activity

        activity.register_target("cluster", selectors.existing_ids, selectors.detail_url)
        activity.register_kind("cluster.", "Clusters", weight=60)

        # What an organization may be notified of about its installed copies.
        notification_events()

        # The organization's Clusters tab.
        from orgs import navigation

        navigation.register_link(
            "clusters", "Clusters", "clusters:list", action="cluster.list", weight=30
        )


def notification_events() -> None:
    """The notification event kinds of installed copies (``notifications.events``)."""
    from notifications.events import register_event

    register_event(
        "installation.created",
        "Secrets were installed into a cluster namespace.",
        group="Installed copies",
        audit={
            "cluster.install": "{actor} installed into {cluster}/{namespace} ({statuses})",
            "cluster.merge": "{actor} merged {source} into {kubeName} in {cluster}/{namespace}",
        },
    )
    register_event(
        "installation.removed",
        "An installed copy was removed from a cluster.",
        audit={"cluster.uninstall": "{actor} uninstalled {kubeName} from {cluster}/{namespace}"},
    )
    register_event("installation.sync_failed", "An installed copy could not be brought up to date.")
