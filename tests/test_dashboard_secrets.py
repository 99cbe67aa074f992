"""Creating, reading, revealing, tagging, editing and deleting secrets in the dashboard."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from secrets_app import services
from secrets_app.models import SecretIndex
from secrets_app.types import REGISTRY, Context
from tests.conftest import Personas, VaultServer
from tests.test_dashboard import scan, signed_in

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
VALUE = "zq-Distinctive-Value-7731"


def base(personas: Personas) -> str:
    return f"/orgs/{personas.org.pk}/secrets/"


def make_secret(personas: Personas, name: str = "payments-db", **kwargs: Any) -> SecretIndex:
    kwargs.setdefault("type", "generic")
    kwargs.setdefault("values", {"password": VALUE, "user": "app"})
    result = services.secret_create(
        actor=personas.admin, organization=personas.org, name=name, **kwargs
    )
    return result.row


def detail(personas: Personas, row: SecretIndex, suffix: str = "") -> str:
    return f"{base(personas)}{row.secret_id}/{suffix}"


def create(
    client: Client, personas: Personas, data: dict[str, str], headers: dict[str, str] | None = None
) -> Any:
    return client.post(base(personas) + "new/", {"verify": "on", **data}, headers=headers)


# --------------------------------------------------------------------------- create


@pytest.mark.parametrize("type_name", list(REGISTRY))
def test_create_form_shows_each_types_fields_with_labels(
    personas: Personas, type_name: str
) -> None:
    response = signed_in(personas, "member").get(base(personas) + f"new/?type={type_name}")
    assert response.status_code == 200
    html = response.content.decode()
    page = scan(html)
    for field in REGISTRY[type_name].fields:
        attrs = page.inputs.get(f"v_{field.name}") or {}
        textarea = f'name="v_{field.name}"' in html
        assert attrs or textarea, field.name
        assert f'for="id_v_{field.name}"' in html, field.name
        if attrs:
            assert attrs.get("autocomplete") == "off", field.name
        if field.generatable and not field.required:
            assert "generated if empty" in html
    for name, attrs in page.inputs.items():
        if attrs.get("type") not in ("hidden", "checkbox", "submit"):
            assert attrs.get("id") in page.label_targets, name


def test_type_fields_swap_in_via_htmx(personas: Personas) -> None:
    client = signed_in(personas, "member")
    response = client.get(base(personas) + "new/fields/?type=htpasswd", headers=HTMX)
    html = response.content.decode()
    assert "<html" not in html and 'name="v_htpasswd"' in html and 'name="v_username"' in html
    assert response["HX-Push-Url"] == base(personas) + "new/?type=htpasswd"
    plain = client.get(base(personas) + "new/fields/?type=htpasswd")
    assert plain.status_code == 302 and plain["Location"].endswith("new/?type=htpasswd")


def test_viewers_cannot_open_the_create_form(personas: Personas) -> None:
    response = signed_in(personas, "viewer").get(base(personas) + "new/")
    assert response.status_code == 403
    assert "member role" in response.content.decode()


def test_create_with_generation_shows_the_values_once(
    vault: VaultServer, personas: Personas
) -> None:
    client = signed_in(personas, "member")
    data = {"name": "mysql-root", "type": "password", "v_username": "root", "tags": "env:prod a"}
    posted = create(client, personas, data)
    row = SecretIndex.objects.get(name="mysql-root")
    # The POST redirects; the page it redirects to reads the values from Vault, once.
    assert posted.status_code == 302 and posted["Location"] == detail(personas, row, "written/")
    response = client.get(posted["Location"])
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert row.tags == ["a", "env:prod"] and row.updated_by == "mike"
    from tests.helpers import secret_values

    password = secret_values(row=row)["password"]
    html = response.content.decode()
    assert password in html and "reveal them one by one on the secret" in html
    assert 'hx-history="false"' in html
    assert password not in client.get(posted["Location"], follow=True).content.decode()
    assert password not in client.get(detail(personas, row)).content.decode()


def test_htmx_create_with_generation_redirects_to_the_page_that_shows_them_once(
    vault: VaultServer, personas: Personas
) -> None:
    client = signed_in(personas, "member")
    data = {"name": "web-auth", "type": "htpasswd", "v_username": "web"}
    response = create(client, personas, data, headers=HTMX)
    row = SecretIndex.objects.get(name="web-auth")
    assert response["HX-Redirect"] == detail(personas, row, "written/")
    assert "Copy the generated values" in client.get(response["HX-Redirect"]).content.decode()


def test_create_without_generated_values_goes_to_the_secret(
    vault: VaultServer, personas: Personas
) -> None:
    client = signed_in(personas, "member")
    data = {"name": "app-env", "type": "generic", "pair_key_0": "TOKEN", "pair_value_0": VALUE}
    response = create(client, personas, data)
    row = SecretIndex.objects.get(name="app-env")
    assert response.status_code == 302 and response["Location"] == detail(personas, row)
    htmx = create(client, personas, {**data, "name": "app-env-2"}, headers=HTMX)
    assert htmx["HX-Redirect"].endswith("/")


def test_create_errors_come_back_inline_without_echoing_secrets(
    vault: VaultServer, personas: Personas
) -> None:
    client = signed_in(personas, "member")
    data = {"name": "Bad Name", "type": "password", "v_username": "root", "v_password": VALUE}
    response = create(client, personas, data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "DNS-1123" in html and 'id="id_name_error"' in html and VALUE not in html
    generate = {"password_mode": "generate", "gen_length": "2", "v_password": ""}
    spec = create(client, personas, {**data, "name": "ok", **generate}, headers=HTMX)
    partial = spec.content.decode()
    assert spec["HX-Reswap"] == "none"
    assert '<div class="field-errors" id="id_gen_length_error" hx-swap-oob="true">' in partial
    assert "greater than or equal to 4" in partial and not SecretIndex.objects.exists()


def test_a_taken_name_is_an_error_on_the_name(vault: VaultServer, personas: Personas) -> None:
    make_secret(personas)
    client = signed_in(personas, "member")
    data = {"name": "payments-db", "type": "generic", "pair_key_0": "k", "pair_value_0": "v"}
    html = create(client, personas, data).content.decode()
    assert "already exists" in html


def test_generic_pairs_need_keys(vault: VaultServer, personas: Personas) -> None:
    data = {"name": "x", "type": "generic", "pair_key_0": "", "pair_value_0": "v"}
    html = create(signed_in(personas, "member"), personas, data).content.decode()
    assert "Give this value a key." in html
    row = signed_in(personas, "member").get(base(personas) + "new/pair/?i=7", headers=HTMX)
    assert 'name="pair_key_7"' in row.content.decode() and "i=8" in row.content.decode()


# --------------------------------------------------------------------------- detail


def test_detail_masks_secret_fields_and_members_reveal_one_field(
    vault: VaultServer, personas: Personas
) -> None:
    row = make_secret(personas, type="password", values={"username": "root", "password": VALUE})
    client = signed_in(personas, "member")
    page = client.get(detail(personas, row)).content.decode()
    # The username is safe to display; the password stays masked.
    assert VALUE not in page and 'aria-label="Value of username">root<' in page
    assert "Reveal" in page
    response = client.post(detail(personas, row, "values/password/"), headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and VALUE in html and "<html" not in html
    assert "root" not in html and "no-store" in response["Cache-Control"]
    hidden = client.get(detail(personas, row, "values/password/"), headers=HTMX).content.decode()
    assert VALUE not in hidden and "Reveal" in hidden
    full = client.post(detail(personas, row, "values/password/")).content.decode()
    assert VALUE in full and "<html" in full


def test_viewers_see_no_values_and_no_edit_controls(vault: VaultServer, personas: Personas) -> None:
    row = make_secret(personas)
    client = signed_in(personas, "viewer")
    html = client.get(detail(personas, row)).content.decode()
    assert VALUE not in html and "payments-db" in html
    for control in (">Reveal<", "edit/", "delete/", "Add a tag", "tags/", "values/"):
        assert control not in html, control
    assert "member role" in html
    assert client.post(detail(personas, row, "values/")).status_code == 403
    assert client.get(detail(personas, row, "edit/")).status_code == 403
    assert client.post(detail(personas, row, "delete/")).status_code == 403
    assert client.post(detail(personas, row, "tags/add/"), {"tag": "x"}).status_code == 403


def test_outsiders_get_the_404_page(vault: VaultServer, personas: Personas) -> None:
    row = make_secret(personas)
    client = signed_in(personas, "outsider")
    for suffix in ("", "edit/", "delete/"):
        response = client.get(detail(personas, row, suffix))
        assert response.status_code == 404 and "Not found" in response.content.decode()
    assert client.post(detail(personas, row, "values/")).status_code == 404
    missing = signed_in(personas, "member").get(base(personas) + "f" * 64 + "/")
    assert missing.status_code == 404


def test_tags_are_added_and_removed_inline(vault: VaultServer, personas: Personas) -> None:
    row = make_secret(personas, tags=["env:prod"])
    client = signed_in(personas, "member")
    added = client.post(detail(personas, row, "tags/add/"), {"tag": "team:web"}, headers=HTMX)
    assert "team:web" in added.content.decode() and "<html" not in added.content.decode()
    row.refresh_from_db()
    assert row.tags == ["env:prod", "team:web"] and row.version == 2
    bad = client.post(detail(personas, row, "tags/add/"), {"tag": "-bad tag"}, headers=HTMX)
    assert "Invalid tag" in bad.content.decode()
    client.post(detail(personas, row, "tags/remove/"), {"tag": "env:prod"}, headers=HTMX)
    row.refresh_from_db()
    assert row.tags == ["team:web"]
    plain = client.post(detail(personas, row, "tags/add/"), {"tag": "x"})
    assert plain.status_code == 302


# --------------------------------------------------------------------------- edit, delete


def edit(client: Client, personas: Personas, row: SecretIndex, data: dict[str, str]) -> Any:
    return client.post(
        detail(personas, row, "edit/"),
        {"version": row.version, "verify": "on", **data},
        headers=HTMX,
    )


def test_edit_keeps_empty_secret_fields_and_shows_errors_inline(
    vault: VaultServer, personas: Personas
) -> None:
    row = make_secret(personas, type="password", values={"username": "root", "password": VALUE})
    client = signed_in(personas, "member")
    form = client.get(detail(personas, row, "edit/")).content.decode()
    assert VALUE not in form and 'value="root"' in form
    bad = edit(
        client, personas, row, {"v_username": "root", "password_mode": "type", "v_password": ""}
    )
    assert bad["HX-Reswap"] == "none" and "Type the password" in bad.content.decode()
    ok = edit(client, personas, row, {"v_username": "admin", "v_password": ""})
    assert ok.status_code == 200 and ok["HX-Redirect"] == detail(personas, row)
    from tests.helpers import secret_values

    row.refresh_from_db()
    assert secret_values(row=row) == {"username": "admin", "password": VALUE}


def test_edit_can_regenerate_and_shows_the_new_values_once(
    vault: VaultServer, personas: Personas
) -> None:
    row = make_secret(personas, type="password", values={"username": "root", "password": VALUE})
    client = signed_in(personas, "member")
    data = {"v_username": "root", "password_mode": "generate", "gen_length": "24"}
    response = edit(client, personas, row, data)
    html = client.get(response["HX-Redirect"]).content.decode()
    assert "Updated payments-db" in html and VALUE not in html
    assert re.search(r'aria-label="Generated password">[A-Za-z0-9]{24}<', html)


def test_a_stale_version_is_refused(vault: VaultServer, personas: Personas) -> None:
    row = make_secret(personas)
    client = signed_in(personas, "member")
    services.tag_add(
        actor=personas.admin, organization=personas.org, secret_id=row.secret_id, tag="t"
    )
    response = edit(client, personas, row, {"v_user": "someone"})
    assert "not 1" in response.content.decode() and response["HX-Reswap"] == "none"


def test_generic_edit_changes_removes_and_adds_keys(vault: VaultServer, personas: Personas) -> None:
    row = make_secret(personas)
    client = signed_in(personas, "member")
    form = client.get(detail(personas, row, "edit/")).content.decode()
    assert VALUE not in form and 'name="v_password"' in form and 'name="rm_user"' in form
    data = {"v_password": "", "rm_user": "on", "pair_key_0": "extra", "pair_value_0": "x"}
    edit(client, personas, row, data)
    from tests.helpers import secret_values

    row.refresh_from_db()
    assert secret_values(row=row) == {"password": VALUE, "extra": "x"}


def test_delete_asks_first_then_removes(vault: VaultServer, personas: Personas) -> None:
    row = make_secret(personas)
    client = signed_in(personas, "member")
    confirm = client.get(detail(personas, row, "delete/")).content.decode()
    assert "cannot be undone" in confirm
    response = client.post(detail(personas, row, "delete/"))
    assert response.status_code == 302 and response["Location"] == base(personas)
    assert not SecretIndex.objects.exists()
    assert "Deleted payments-db" in client.get(base(personas)).content.decode()


def test_forms_need_the_csrf_token(vault: VaultServer, personas: Personas) -> None:
    row = make_secret(personas)
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.member)
    assert client.post(detail(personas, row, "values/")).status_code == 403
    assert client.post(detail(personas, row, "delete/")).status_code == 403
    page = client.get(detail(personas, row)).content.decode()
    assert '"X-CSRFToken": "' in page and page.count("csrfmiddlewaretoken") >= 3


# --------------------------------------------------------------------------- Vault away


def test_vault_away_is_a_friendly_message(vault: VaultServer, personas: Personas, settings) -> None:
    row = make_secret(personas, type="password", values={"username": "r"}, ctx=Context())
    settings.VAULT_ADDR = "http://127.0.0.1:1"
    client = signed_in(personas, "member")
    page = client.post(detail(personas, row, "values/password/"))
    assert page.status_code == 503 and "secret store is unavailable" in page.content.decode()
    partial = client.post(detail(personas, row, "values/password/"), headers=HTMX)
    assert partial.status_code == 200 and partial["HX-Retarget"] == "#alerts"
    assert "unavailable" in partial.content.decode()
    assert client.get(detail(personas, row, "edit/")).status_code == 503
    # Metadata comes from the index, so the list and the detail page still work.
    assert client.get(base(personas)).status_code == 200
    assert client.get(detail(personas, row)).status_code == 200
