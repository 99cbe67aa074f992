"""The edges of the product replayed against it served for real: failed logins counted once
per account across processes and restarts, bodies too deep or too large, and times outside
what the database holds."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.cache import cache

from orgs.models import User
from tests.live_app import LiveApp, live_app

PASSWORD = "correct horse battery"
LOCKED = "Too many failed login attempts"
LIMIT = 4


def sign_in(app: LiveApp, login: str, password: str) -> requests.Response:
    """One sign-in through the login form, as a browser sends it (with its CSRF token)."""
    with requests.Session() as browser:
        browser.get(f"{app.url}/accounts/login/", timeout=30).raise_for_status()
        return browser.post(
            f"{app.url}/accounts/login/",
            data={
                "login": login,
                "password": password,
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
            headers={"Referer": f"{app.url}/accounts/login/"},
            allow_redirects=False,
            timeout=30,
        )


def account(username: str, email: str) -> User:
    """An account whose password hash any process checks quickly (few PBKDF2 rounds)."""
    user = User.objects.create(username=username, email=email)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, f"salt{username}", iterations=1000)
    user.save(update_fields=["password"])
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


@pytest.fixture
def shared_cache() -> object:
    # The cache is a table, which a transactional test's flush leaves alone.
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db(transaction=True)
def test_failed_logins_are_counted_once_across_processes_and_restarts(
    tmp_path: Path, shared_cache: object
) -> None:
    account("Vera", "vera@example.com")
    account("mike", "mike@example.com")
    env = {"LOGIN_FAILURES_ALLOWED": str(LIMIT), "LOGIN_LOCKOUT_SECONDS": "600"}
    # The same account, typed each way allauth accepts it.
    spellings = ["vera", "VERA@example.com", "Vera", "vera@EXAMPLE.com"]
    with live_app(tmp_path / "a", env) as first, live_app(tmp_path / "b", env) as second:
        for attempt in range(LIMIT):
            app = (first, second)[attempt % 2]
            wrong = sign_in(app, spellings[attempt % len(spellings)], "wrong password")
            assert wrong.status_code == 200 and LOCKED not in wrong.text
        # Each process saw half of the failures; the account is locked on both.
        for app in (first, second):
            refused = sign_in(app, "vera", PASSWORD)
            assert refused.status_code == 200 and LOCKED in refused.text
        assert sign_in(first, "mike", PASSWORD).status_code == 302
    # A restart keeps the count.
    with live_app(tmp_path / "c", env) as restarted:
        refused = sign_in(restarted, "Vera@example.com", PASSWORD)
        assert refused.status_code == 200 and LOCKED in refused.text
        assert sign_in(restarted, "MIKE", PASSWORD).status_code == 302
