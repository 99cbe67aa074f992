"""What the changes part of governance registers with the apps below it: the policy's hold
rule for protected secrets, the keeper of held changes, the expiry job, the events, the
activity kinds and the queue's tab (with the count of pending requests)."""


def ready() -> None:
    from audit import activity
    from governance import changes, changes_tasks, protection
    from notifications.events import register_event
    from orgs import navigation, policy
    from pipeline_secrets.core import periodic
    from secrets_app import hooks

    policy.register_hold_rule(protection.hold_rule)
    hooks.on_hold(changes.keep_held)
    periodic.register("governance.change_expiry", changes_tasks.enqueue_expiry)
    register_event(
        "change.requested",
        "A change to a protected secret awaits approval.",
        group="Change requests",
    )
    register_event(
        "change.decided",
        "A change request was approved and applied, rejected, withdrawn, expired or failed.",
    )
    activity.register_kind("change.", "Change requests", weight=85)
    activity.register_target("change_request", changes.existing_ids, changes.detail_url)
    activity.register_kind("protection.", "Protection", weight=86)
    navigation.register_link(
        "changes",
        "Change requests",
        "governance:changes",
        action="change.list",
        weight=37,
        count=changes.pending_count,
    )
