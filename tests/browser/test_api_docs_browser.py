"""The API docs page works under the Content-Security-Policy (no inline script or style)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Dashboard
from tests.conftest import Personas

pytestmark = pytest.mark.django_db(transaction=True)


def test_api_docs_render_under_the_content_security_policy(
    dash: Dashboard, personas: Personas
) -> None:
    dash.sign_in_as(personas.admin)
    page = dash.goto("/api/v1/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/secrets").first).to_be_visible()
    # The page fails on any script error or refused inline code (see the ``dash`` fixture).
