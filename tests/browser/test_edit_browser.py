"""Editing a secret in a real browser: what is stored is shown, values are revealed and
cleared in place, a password has one control, a stale edit says so, and opening pages
records no read."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from audit.models import AuditEvent
from secrets_app import services
from secrets_app.models import SecretIndex
from tests.browser.conftest import Dashboard
from tests.conftest import Personas, VaultServer
from tests.helpers import secret_values

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.vault]

# 32 characters with symbols, as randAscii,32 makes them.
STORED = "Zx9!Zx9!Zx9!Zx9!Zx9!Zx9!Zx9!Zx9!"


# How many lines an element's text takes.
LINES = """e => {
  const range = document.createRange();
  range.selectNodeContents(e);
  return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
}"""


def make(personas: Personas, name: str, kind: str, values: dict[str, str]) -> SecretIndex:
    return services.secret_create(
        actor=personas.admin, organization=personas.org, name=name, type=kind, values=values
    ).row


def edit_path(personas: Personas, row: SecretIndex) -> str:
    return f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/edit/"


def reads(row: SecretIndex) -> list[list[str]]:
    events = AuditEvent.objects.filter(action="secret.read", target_id=row.secret_id)
    return [e.detail["fields"] for e in events.order_by("pk")]


def save(page: Page) -> None:
    page.click("button:has-text('Save new version')")


def test_values_are_revealed_changed_and_cleared_in_place(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    """Item 3: a hidden value is revealed into its input, changed there; another is cleared."""
    row = make(personas, "payments-api", "generic", {"API_KEY": "k-9931", "TOKEN": "t-1"})
    dash.sign_in_as(personas.member)
    page = dash.goto(edit_path(personas, row))
    expect(page.locator("#id_v_API_KEY")).to_have_value("")
    assert "k-9931" not in page.content()
    page.get_by_role("button", name="Reveal API_KEY").click()
    expect(page.locator("#id_v_API_KEY")).to_have_value("k-9931")
    expect(page.locator("#id_v_API_KEY")).to_be_focused()
    page.fill("#id_v_API_KEY", "k-9932")
    page.check("#id_clear_TOKEN")
    dash.shoot("edit-reveal-in-place", doc=True)
    # Enter saves the form (it does not press the first Reveal button).
    page.focus("#id_v_API_KEY")
    page.keyboard.press("Enter")
    expect(page.locator(".flash.success")).to_have_text("Updated payments-api.")
    assert secret_values(row=row) == {"API_KEY": "k-9932", "TOKEN": ""}
    assert reads(row) == [["API_KEY"]]


def test_the_password_has_one_control_shaped_like_the_stored_one(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    """Item 3: keep / set / generate; the generator starts at the stored 32 characters with
    symbols, and what it makes has that shape."""
    row = make(personas, "db-root", "password", {"username": "root", "password": STORED})
    dash.sign_in_as(personas.member)
    page = dash.goto(edit_path(personas, row))
    expect(page.locator("#id_v_username")).to_have_value("root")
    expect(page.locator("input[name=password_mode][value=keep]")).to_be_checked()
    expect(page.locator("#id_v_password")).to_be_hidden()
    expect(page.locator("#id_gen_length")).to_be_hidden()
    expect(page.get_by_text("Generate new values")).to_have_count(0)
    page.check("input[name=password_mode][value=generate]")
    expect(page.locator("#id_gen_length")).to_have_value("32")
    expect(page.locator("#id_gen_alphabet")).to_have_value("randAscii")
    expect(page.locator("#id_v_password")).to_be_hidden()
    dash.shoot("edit-password-control", doc=True)
    save(page)
    expect(page.locator(".generated .secret-text")).to_have_count(1)
    new = secret_values(row=row)["password"]
    assert len(new) == 32 and not new.isalnum() and new != STORED
    expect(page.locator(".generated .secret-text")).to_have_text(new)


def test_setting_a_password_and_revealing_the_current_one(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    row = make(personas, "db-root", "password", {"username": "root", "password": STORED})
    dash.sign_in_as(personas.member)
    page = dash.goto(edit_path(personas, row))
    page.get_by_role("button", name="Reveal password").click()
    current = page.get_by_label("Current password", exact=True)
    expect(current).to_have_text(STORED)
    expect(current).to_be_focused()
    page.check("input[name=password_mode][value=type]")
    page.fill("#id_v_password", "a-new-password-1234")
    save(page)
    expect(page.locator(".flash.success")).to_have_text("Updated db-root.")
    assert secret_values(row=row)["password"] == "a-new-password-1234"
    assert reads(row) == [["password"]]


@pytest.mark.parametrize("viewport", ["dash", "narrow"])
def test_radio_labels_stay_on_one_line(
    request: pytest.FixtureRequest, vault: VaultServer, personas: Personas, viewport: str
) -> None:
    """Item 8: the password's choices do not wrap word by word, wide or at 390 px."""
    tab: Dashboard = request.getfixturevalue(viewport)
    row = make(personas, "db-root", "password", {"username": "root", "password": STORED})
    tab.sign_in_as(personas.member)
    page = tab.goto(edit_path(personas, row))
    labels = page.locator("label.choice")
    expect(labels).to_have_count(3)
    for index in range(3):
        text = labels.nth(index).locator("span")
        lines = text.evaluate(LINES)
        assert lines == 1, (text.inner_text(), lines)
    assert tab.fits_width()


def test_a_stale_edit_is_shown_and_nothing_fails_in_the_console(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    """Item 4: saving over someone else's change shows the conflict; every out-of-band
    swap of that answer finds its target (the tab fails on htmx:oobErrorNoTarget)."""
    row = make(personas, "payments-api", "generic", {"API_KEY": "k-1", "REGION": "eu"})
    dash.sign_in_as(personas.member)
    page = dash.goto(edit_path(personas, row))
    services.tag_add(
        actor=personas.admin, organization=personas.org, secret_id=row.secret_id, tag="moved"
    )
    page.fill("#id_v_REGION", "us")
    save(page)
    expect(page.locator("#form-errors")).to_contain_text("Someone saved this secret")
    expect(page.locator("#form-errors")).to_be_focused()
    assert secret_values(row=row) == {"API_KEY": "k-1", "REGION": "eu"}


def test_opening_pages_records_no_read_and_help_is_in_words(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    """Item 9: the secret page and the edit form are not reads; item 10: the password's help
    says the generator in words."""
    row = make(personas, "db-root", "password", {"username": "root", "password": STORED})
    dash.sign_in_as(personas.member)
    page = dash.goto(f"/orgs/{personas.org.pk}/secrets/{row.secret_id}/")
    expect(page.get_by_label("Value of username")).to_have_text("root")
    expect(page.locator("table.values")).to_contain_text("24 random letters and digits")
    expect(page.locator("table.values")).not_to_contain_text("randAlphaNum")
    page.click("text=Edit values")
    expect(page.locator("h1")).to_have_text("Edit db-root")
    save(page)
    expect(page.locator(".flash.success")).to_have_text("Updated db-root.")
    assert reads(row) == []
    events = AuditEvent.objects.filter(target_id=row.secret_id).order_by("pk")
    assert [e.action for e in events] == ["secret.create", "secret.update"]


def test_a_reveal_by_keyboard_fits_a_phone(
    narrow: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    """Item 3 at 390 px: Reveal is reached with Tab, pressed with Enter, and the form with the
    value in its input still fits the screen."""
    row = make(personas, "payments-api", "generic", {"API_KEY": "k-9931"})
    narrow.sign_in_as(personas.member)
    page = narrow.goto(edit_path(personas, row))
    page.focus("#id_v_API_KEY")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Reveal API_KEY")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#id_v_API_KEY")).to_have_value("k-9931")
    expect(page.locator("#id_v_API_KEY")).to_be_focused()
    assert narrow.fits_width()
    assert reads(row) == [["API_KEY"]]
