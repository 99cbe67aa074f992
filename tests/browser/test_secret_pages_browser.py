"""A secret's own pages in a real browser: what shows without a reveal, errors all at once,
key files uploaded, focus after a reveal, dark mode."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import FilePayload, expect

from secrets_app import services
from secrets_app.models import SecretIndex
from tests.browser.conftest import Dashboard
from tests.conftest import Personas, VaultServer
from tests.helpers import secret_values
from tests.test_types_cloud import service_account

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.vault]


def secrets_path(personas: Personas) -> str:
    return f"/orgs/{personas.org.pk}/secrets/"


def make(personas: Personas, name: str, kind: str, values: dict[str, str]) -> SecretIndex:
    return services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name=name,
        type=kind,
        values=values,
        tags=["env:prod"],
    ).row


def test_key_names_and_safe_fields_show_without_a_reveal(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    make(personas, "payments-api", "generic", {"API_KEY": "k-9931", "REGION": "eu"})
    tls = make(personas, "shop-tls", "tls", {"hosts": "shop.example.test", "validity": "720h"})
    dash.sign_in_as(personas.member)
    page = dash.goto(secrets_path(personas))
    page.click("a.secret-link:has-text('payments-api')")
    expect(page.locator("code.key-name")).to_have_text(["API_KEY", "REGION"])
    expect(page.locator("body")).not_to_contain_text("k-9931")
    page = dash.goto(f"{secrets_path(personas)}{tls.secret_id}/")
    expect(page.get_by_label("Value of hosts")).to_have_text("shop.example.test")
    expect(page.get_by_label("Value of validity")).to_have_text("720h")
    expect(page.locator("button:has-text('Reveal')")).to_have_count(4)
    dash.shoot("secret-detail-safe-fields", doc=True)


def test_focus_stays_on_the_control_after_reveal_and_hide(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    row = make(personas, "mysql-root", "password", {"username": "root"})
    dash.sign_in_as(personas.member)
    page = dash.goto(f"{secrets_path(personas)}{row.secret_id}/")
    page.get_by_role("button", name="Reveal password").click()
    hide = page.get_by_role("link", name="Hide password")
    expect(hide).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Reveal password")).to_be_focused()


def test_focus_returns_to_the_tag_box_after_removing_a_tag(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    row = make(personas, "mysql-root", "password", {"username": "root"})
    dash.sign_in_as(personas.member)
    page = dash.goto(f"{secrets_path(personas)}{row.secret_id}/")
    page.get_by_role("button", name="Remove tag env:prod").click()
    expect(page.locator(".tags-editor")).to_contain_text("No tags yet")
    expect(page.locator("#id_tag")).to_be_focused()


def test_a_bad_tls_form_shows_every_error_at_once(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    dash.sign_in_as(personas.member)
    page = dash.goto(secrets_path(personas) + "new/?type=tls")
    page.fill("#id_name", "bad-tls")
    page.fill("#id_v_hosts", "not a host!")
    page.select_option("#id_v_keyType", "rsa-4096")
    page.locator("details.folded summary").click()
    page.fill("#id_v_serverKey", "garbage")
    page.click("button:has-text('Create secret')")
    expect(page.locator("#id_v_hosts_error")).to_contain_text("Each host must be")
    expect(page.locator("#id_v_serverKey_error")).to_contain_text("Not a PEM private key")
    expect(page.locator("#id_v_caCert_error")).to_contain_text("Required when certificates")
    expect(page.locator("#form-errors li")).to_have_count(4)
    assert not SecretIndex.objects.exists()


def test_a_bad_generic_key_is_marked_on_the_key(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    dash.sign_in_as(personas.member)
    page = dash.goto(secrets_path(personas) + "new/?type=generic")
    page.fill("#id_name", "app-env")
    page.fill("#id_pair_key_0", "bad key")
    page.fill("#id_pair_value_0", "v")
    page.click("button:has-text('Create secret')")
    expect(page.locator("#id_pair_key_0_error")).to_contain_text("A key may contain only")
    expect(page.locator("#id_pair_key_0")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_pair_value_0_error")).to_be_empty()


def test_a_google_key_file_is_uploaded(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    document = service_account("https://oauth2.googleapis.com/token")
    dash.sign_in_as(personas.member)
    page = dash.goto(secrets_path(personas) + "new/?type=google")
    expect(page.locator("fieldset.type-fields legend")).to_contain_text("a new Google secret")
    page.fill("#id_name", "gcp-ci")
    payload: FilePayload = {
        "name": "key.json",
        "mimeType": "application/json",
        "buffer": json.dumps(document).encode(),
    }
    page.set_input_files("#id_json_file", files=[payload])
    page.uncheck("#id_verify")
    page.click("button:has-text('Create secret')")
    expect(page.locator("h1.secret-name")).to_have_text("gcp-ci")
    expect(page.get_by_label("Value of client_email")).to_have_text(document["client_email"])
    assert secret_values(row=SecretIndex.objects.get(name="gcp-ci")) == document


def test_slash_focuses_the_search_box(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    dash.sign_in_as(personas.viewer)
    page = dash.goto(secrets_path(personas))
    page.keyboard.press("/")
    expect(page.locator("input[type=search]").first).to_be_focused()


def test_dark_mode_follows_the_system(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    row = make(personas, "shop-tls", "tls", {"hosts": "shop.example.test"})
    dash.page.emulate_media(color_scheme="dark")
    dash.sign_in_as(personas.member)
    page = dash.goto(f"{secrets_path(personas)}{row.secret_id}/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 22, 29)"
    dash.shoot("dark-mode", doc=True)
