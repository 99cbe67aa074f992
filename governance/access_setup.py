"""What the access part of governance registers with the apps below it: the policy's grant
source (temporary access lifts a role until its grant expires), the notification events,
the activity page's kind and the organization's Access tab."""


def ready() -> None:
    from audit import activity
    from governance import access, access_policy
    from notifications.events import register_event
    from orgs import navigation, policy

    policy.register_grant_source(access_policy.grant_lifts)
    for name, help_text in access.EVENTS.items():
        register_event(name, help_text, group="Temporary access")
    activity.register_kind("access.", "Temporary access", weight=80)
    navigation.register_link(
        "access", "Access", "governance:access", action="access.request", weight=75
    )
    navigation.register_member_note(access.member_notes)
