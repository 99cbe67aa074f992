"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

One browser per session, a fresh context (cookies, storage) per test. Users sign in through
the real login form once (``test_sign_in``); other tests get a session cookie made by
Django's test client, which is the same session the form would have made.
Screenshots go to ``artifacts/screenshots/``; with ``UPDATE_DOC_SCREENSHOTS=1`` the ones
marked for the docs are also copied to ``docs/screenshots/``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from orgs.models import User

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
WIDE = {"width": 1280, "height": 860}
NARROW = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    """Playwright's sync API runs an event loop in this thread, which Django takes for an
    async context; the tests' ORM calls stay synchronous, so its guard is lifted meanwhile."""
    saved = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as driver:
            yield driver
    finally:
        if saved is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = saved


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run tools/install-test-deps.sh")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@dataclass
class Dashboard:
    """A browser tab on the live server, and what went wrong in it."""

    page: Page
    base_url: str
    errors: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str) -> Page:
        self.page.goto(self.url(path))
        return self.page

    def sign_in_as(self, user: User) -> None:
        """A session cookie for ``user``, as the login form would set it."""
        client = Client()
        client.force_login(user)
        cookie = client.cookies["sessionid"]
        self.page.context.add_cookies(
            [{"name": "sessionid", "value": cookie.value, "url": self.base_url}]
        )

    def shoot(self, name: str, *, doc: bool = False, full_page: bool = True) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        # caret="initial": hiding the caret would inject a style sheet, which the page's
        # Content-Security-Policy rightly refuses.
        self.page.screenshot(path=str(path), full_page=full_page, caret="initial")
        if doc and os.environ.get("UPDATE_DOC_SCREENSHOTS"):
            DOCS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS / path.name)
        return path

    def fits_width(self) -> bool:
        """No horizontal scrolling: everything fits the viewport's width."""
        return bool(
            self.page.evaluate(
                "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
            )
        )


def _record_console(errors: list[str]) -> Callable[[ConsoleMessage], None]:
    def on_console(message: ConsoleMessage) -> None:
        # A page answered 404 on purpose is logged as a failed load; responses are
        # checked separately below.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    return on_console


def _record_response(errors: list[str]) -> Callable[[Response], None]:
    def on_response(response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            errors.append(f"{response.status} {response.url}")

    return on_response


def open_dashboard(browser: Browser, base_url: str, viewport: dict[str, int]) -> Dashboard:
    context = browser.new_context(viewport=viewport, base_url=base_url)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    dashboard = Dashboard(page=page, base_url=base_url)
    page.on("console", _record_console(dashboard.errors))
    page.on("response", _record_response(dashboard.errors))
    page.on("pageerror", lambda exc: dashboard.errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    return dashboard


def _tab(browser: Browser, base_url: str, viewport: dict[str, int]) -> Iterator[Dashboard]:
    dashboard = open_dashboard(browser, base_url, viewport)
    try:
        yield dashboard
        # What the last page still loads (a panel it fetches on load) answers before the
        # tab closes, while the test's rows still exist.
        with contextlib.suppress(PlaywrightError):
            dashboard.page.wait_for_load_state("networkidle", timeout=5000)
    finally:
        dashboard.page.context.close()
    assert not dashboard.errors, dashboard.errors


# Both ask for the database first, so it is emptied only after the tab is closed.
@pytest.fixture
def dash(transactional_db: None, browser: Browser, live_server: Any) -> Iterator[Dashboard]:
    """A fresh 1280 px wide tab; the test fails on any script error or failed load in it."""
    yield from _tab(browser, live_server.url, WIDE)


@pytest.fixture
def narrow(transactional_db: None, browser: Browser, live_server: Any) -> Iterator[Dashboard]:
    """A fresh 390 px wide tab, a phone's width."""
    yield from _tab(browser, live_server.url, NARROW)
