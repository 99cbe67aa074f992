"""Secrets in a real browser: create with generation, filter, reveal, tag, edit, delete."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from secrets_app import services
from secrets_app.models import SecretIndex
from secrets_app.types import REGISTRY, SecretType
from tests.browser.conftest import Dashboard
from tests.conftest import Personas, VaultServer
from tests.helpers import secret_values

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.vault]

# Values for the fields a type needs from its user, when it generates the rest.
SAMPLES = {"username": "app", "hosts": "payments.example.test", "user": "deploy"}


def generating_types() -> list[SecretType]:
    return [t for t in REGISTRY.values() if any(f.generatable for f in t.fields)]


def sample_values(stype: SecretType) -> dict[str, str]:
    needed = [f.name for f in stype.fields if f.required and not f.generatable]
    missing = [name for name in needed if name not in SAMPLES]
    assert not missing, f"add a sample for {missing} of type {stype.name} to SAMPLES"
    return {name: SAMPLES[name] for name in needed}


def seed(personas: Personas) -> None:
    """A few secrets of several types, tags and one certificate close to expiry."""
    org, actor = personas.org, personas.admin
    for name, kind, values, tags in [
        ("mysql-root", "password", {"username": "root"}, ["env:prod", "repo:pipeline"]),
        ("payments-api", "generic", {"API_KEY": "k-123", "REGION": "eu"}, ["env:prod"]),
        ("grafana-auth", "htpasswd", {"username": "admin"}, ["env:staging", "team:obs"]),
        ("ingress-tls", "tls", {"hosts": "shop.example.test", "validity": "240h"}, ["env:prod"]),
        ("deploy-key", "ssh", {"user": "git", "identifier": "ci"}, ["repo:pipeline"]),
    ]:
        services.secret_create(
            actor=actor, organization=org, name=name, type=kind, values=values, tags=tags
        )


def list_path(personas: Personas) -> str:
    return f"/orgs/{personas.org.pk}/secrets/"


def rows(dash: Dashboard) -> list[str]:
    return dash.page.locator("a.secret-link").all_inner_texts()


@pytest.mark.parametrize("stype", generating_types(), ids=lambda t: t.name)
def test_create_a_generated_secret_of_each_type(
    dash: Dashboard, vault: VaultServer, personas: Personas, stype: SecretType
) -> None:
    # Types whose values are cluster credentials (pkecert's CA keys) are written by admins.
    dash.sign_in_as(personas.admin if stype.values_role == "admin" else personas.member)
    page = dash.goto(list_path(personas) + "new/")
    page.select_option("#id_type", stype.name)
    expect(page.locator("fieldset.type-fields legend")).to_contain_text(stype.name)
    expect(page).to_have_url(re.compile(rf"\?type={stype.name}$"))
    page.fill("#id_name", f"gen-{stype.name}")
    page.fill("#id_tags", "env:test")
    for name, value in sample_values(stype).items():
        page.fill(f"#id_v_{name}", value)
    if stype.name == "password":
        expect(page.locator("label[for=id_v_password] .badge.gen")).to_have_text(
            "generated if empty"
        )
        dash.shoot("create-form", doc=True)
    page.click("button:has-text('Create secret')")
    expect(page.locator("#created-h")).to_have_text(f"Created gen-{stype.name}")
    expect(page.locator(".reveal-once .flash.warn")).to_contain_text("This page shows them once")
    row = SecretIndex.objects.get(name=f"gen-{stype.name}")
    shown = page.locator(".generated .secret-text").all_inner_texts()
    assert shown and all(shown)
    stored = secret_values(row=row)
    for key, text in zip(page.locator(".generated dt").all_inner_texts(), shown, strict=True):
        assert stored.get(key, text).strip() == text.strip(), key
    expect(page).to_have_url(re.compile(f"{row.secret_id}/written/$"))
    page.click("text=Done, go to")
    expect(page.locator("h1")).to_have_text(f"gen-{stype.name}")
    # Only what the type marks as no secret (an SSH public key, a certificate) shows
    # unrevealed.
    safe = {f.name for f in stype.fields if f.in_clear}
    secret = [v for n, v in stored.items() if n not in safe and len(v) > 8]
    assert not any(text in page.content() for text in secret)


def test_filter_by_type_tag_and_name(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    seed(personas)
    dash.sign_in_as(personas.viewer)
    page = dash.goto(list_path(personas))
    expect(page.locator("a.secret-link")).to_have_count(5)
    expect(page.locator("tr", has_text="ingress-tls").locator(".expiry")).to_contain_text(
        "expires in"
    )
    dash.shoot("secrets-list", doc=True)
    page.select_option("#filter-type", "password")
    expect(page).to_have_url(re.compile(r"type=password"))
    expect(page.locator("a.secret-link")).to_have_text(["mysql-root"])
    page.select_option("#filter-type", "")
    expect(page.locator("a.secret-link")).to_have_count(5)
    page.locator("a.chip", has_text="repo:pipeline").first.click()
    expect(page).to_have_url(re.compile(r"tag=repo%3Apipeline"))
    expect(page.locator("a.secret-link")).to_have_text(["deploy-key", "mysql-root"])
    page.select_option("#filter-tag", "env:prod")
    expect(page.locator("a.secret-link")).to_have_text(["mysql-root"])
    page.locator(".active-filters a.chip", has_text="repo:pipeline").click()
    expect(page.locator("a.secret-link")).to_have_count(3)
    page.click("text=Clear filters")
    page.fill("#filter-q", "graf")
    expect(page.locator("a.secret-link")).to_have_text(["grafana-auth"])
    expect(page.locator("[id=secret-results]")).to_have_count(1)
    expect(page.locator("[id=filter-controls]")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=graf"))
    page.reload()
    expect(page.locator("#filter-q")).to_have_value("graf")
    expect(page.locator("a.secret-link")).to_have_text(["grafana-auth"])


def test_reveal_a_value_and_edit_tags_inline(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    seed(personas)
    row = SecretIndex.objects.get(name="mysql-root")
    password = secret_values(row=row)["password"]
    dash.sign_in_as(personas.member)
    page = dash.goto(f"{list_path(personas)}{row.secret_id}/")
    page.evaluate("window.stillHere = true")
    assert password not in page.content()
    cell = page.locator("tr", has=page.locator("code", has_text="password")).locator(".value-cell")
    cell.get_by_role("button", name="Reveal").click()
    expect(page.locator(".value-cell.revealed .secret-text")).to_have_text(password)
    dash.shoot("secret-detail-revealed", doc=True)
    page.click("text=Hide")
    expect(page.locator(".value-cell.revealed .secret-text")).to_have_count(0)
    page.fill("#id_tag", "team:payments")
    page.press("#id_tag", "Enter")
    expect(page.locator(".tags-editor .chip", has_text="team:payments")).to_be_visible()
    page.get_by_role("button", name="Remove tag env:prod").click()
    expect(page.locator(".tags-editor .chip", has_text="env:prod")).to_have_count(0)
    page.fill("#id_tag", "-not a tag")
    page.click(".tag-add button")
    expect(page.locator("#id_tag_error")).to_contain_text("Invalid tag")
    assert page.evaluate("window.stillHere") is True
    row.refresh_from_db()
    assert row.tags == ["repo:pipeline", "team:payments"]


def test_reveal_with_the_keyboard(dash: Dashboard, vault: VaultServer, personas: Personas) -> None:
    seed(personas)
    row = SecretIndex.objects.get(name="payments-api")
    dash.sign_in_as(personas.member)
    page = dash.goto(f"{list_path(personas)}{row.secret_id}/")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent").strip().startswith("Reveal"):
            break
    else:
        pytest.fail("the Reveal button is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".value-cell.revealed")).to_contain_text("k-123")


def test_edit_shows_a_validation_error_inline_then_saves(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    seed(personas)
    row = SecretIndex.objects.get(name="mysql-root")
    dash.sign_in_as(personas.member)
    page = dash.goto(f"{list_path(personas)}{row.secret_id}/")
    page.click("text=Edit values")
    expect(page.locator("#id_v_username")).to_have_value("root")
    expect(page.locator("#id_v_password")).to_have_value("")
    page.check("input[name=password_mode][value=type]")
    page.click("button:has-text('Save new version')")
    expect(page.locator("#id_v_password_error")).to_contain_text("Type the password")
    expect(page.locator("#form-errors")).to_be_focused()
    dash.shoot("edit-error")
    page.fill("#id_v_password", "a-new-password-1234")
    page.click("button:has-text('Save new version')")
    expect(page.locator(".flash.success")).to_have_text("Updated mysql-root.")
    row.refresh_from_db()
    assert row.version == 2 and secret_values(row=row)["password"] == "a-new-password-1234"


def test_delete_after_confirming(dash: Dashboard, vault: VaultServer, personas: Personas) -> None:
    seed(personas)
    row = SecretIndex.objects.get(name="deploy-key")
    dash.sign_in_as(personas.member)
    page = dash.goto(f"{list_path(personas)}{row.secret_id}/")
    page.click("a:has-text('Delete')")
    expect(page.locator("h1")).to_have_text("Delete deploy-key?")
    page.click("button:has-text('Delete deploy-key')")
    expect(page.locator(".flash.success")).to_contain_text("Deleted deploy-key")
    expect(page.locator("a.secret-link")).to_have_count(4)
    assert not SecretIndex.objects.filter(name="deploy-key").exists()


def test_a_viewer_sees_no_values_and_no_edit_controls(
    dash: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    seed(personas)
    row = SecretIndex.objects.get(name="mysql-root")
    password = secret_values(row=row)["password"]
    dash.sign_in_as(personas.viewer)
    page = dash.goto(list_path(personas))
    expect(page.get_by_text("New secret")).to_have_count(0)
    page.click("text=mysql-root")
    expect(page.locator(".notice")).to_contain_text("member role")
    for name in ("Reveal", "Edit values", "Delete", "Add", "Remove tag env:prod"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
        expect(page.get_by_role("link", name=name)).to_have_count(0)
    assert password not in page.content()
    dash.shoot("viewer-detail")


def test_a_narrow_screen_shows_the_list_as_cards(
    narrow: Dashboard, vault: VaultServer, personas: Personas
) -> None:
    seed(personas)
    narrow.sign_in_as(personas.admin)
    page = narrow.goto(list_path(personas))
    expect(page.locator("a.secret-link")).to_have_count(5)
    assert narrow.fits_width()
    narrow.shoot("secrets-list-390", doc=True)
    page.click('a.secret-link:has-text("mysql-root")')
    expect(page.locator("h1")).to_have_text("mysql-root")
    assert narrow.fits_width()
    narrow.shoot("secret-detail-390")
