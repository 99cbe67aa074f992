"""Failed logins are limited per account name: past the limit the form refuses even the
right password for a while, says so, and the audit trail shows it to the org's admins."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from audit.models import AuditEvent
from tests.conftest import Personas
from tests.test_dashboard import signed_in

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()
    yield
    cache.clear()


def test_repeated_failures_lock_the_login_visibly_and_are_audited(
    personas: Personas, settings
) -> None:
    client = Client()
    for _ in range(settings.LOGIN_FAILURES_ALLOWED):
        wrong = client.post("/accounts/login/", {"login": "vera", "password": "wrong"})
        assert wrong.status_code == 200 and "Too many" not in wrong.content.decode()
    locked = client.post("/accounts/login/", {"login": "vera", "password": PASSWORD})
    html = locked.content.decode()
    assert locked.status_code == 200 and "Too many failed login attempts" in html
    assert "_auth_user_id" not in client.session
    # Another browser is refused too: the limit is on the account name.
    other = Client().post("/accounts/login/", {"login": "vera", "password": PASSWORD})
    assert "Too many failed login attempts" in other.content.decode()
    # Other accounts are not affected.
    assert (
        Client().post("/accounts/login/", {"login": "mike", "password": PASSWORD}).status_code
        == 302
    )

    events = AuditEvent.objects.filter(organization=personas.org, target_name="vera")
    actions = list(events.values_list("action", flat=True))
    assert actions.count("signin.fail") == settings.LOGIN_FAILURES_ALLOWED
    assert "signin.locked" in actions
    assert all("password" not in str(e.detail).lower() for e in events)
    # The admin sees it on the activity page.
    activity = signed_in(personas, "admin").get(f"/orgs/{personas.org.pk}/activity/?kind=signin")
    assert "signin.locked" in activity.content.decode()


def test_successful_sign_ins_are_audited_with_their_source(personas: Personas) -> None:
    assert (
        Client().post("/accounts/login/", {"login": "mike", "password": PASSWORD}).status_code
        == 302
    )
    event = AuditEvent.objects.get(action="signin", organization=personas.org)
    assert event.actor == "mike" and event.detail == {"source": "local"}


def test_the_limit_counts_the_account_whichever_name_or_address_is_typed(
    personas: Personas, settings
) -> None:
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(
        user=personas.viewer, email="vera@example.com", verified=True, primary=True
    )
    spellings = ["VERA", "vera@example.com", "Vera", "VERA@EXAMPLE.COM", " vera"]
    for attempt in range(settings.LOGIN_FAILURES_ALLOWED):
        login = spellings[attempt % len(spellings)]
        wrong = Client().post("/accounts/login/", {"login": login, "password": "wrong"})
        assert "Too many" not in wrong.content.decode()
    for login in ("vera", "Vera@Example.com"):
        locked = Client().post("/accounts/login/", {"login": login, "password": PASSWORD})
        assert "Too many failed login attempts" in locked.content.decode()


@pytest.mark.django_db(transaction=True)
def test_migrate_makes_the_shared_cache_table() -> None:
    """Every process counts in one table, which ``migrate`` (make run, the chart's hook)
    makes: without it no login could be counted, and none would be let through."""
    from django.core.management import call_command
    from django.db import connection

    table = settings_cache_table()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {connection.ops.quote_name(table)}")
    assert table not in connection.introspection.table_names()
    call_command("migrate", verbosity=0)
    assert table in connection.introspection.table_names()
    cache.set("probe", 1)
    assert cache.get("probe") == 1


def settings_cache_table() -> str:
    from django.conf import settings

    return str(settings.CACHES["default"]["LOCATION"])
