"""The edit form shows what is stored: fields that are no secret in clear, the others masked
and revealable in place (one audited read), cleared on request, and a password edited with
one control whose generator starts from the stored password (issue items 3, 9 and 10)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from secrets_app.models import SecretIndex
from tests.conftest import Personas, VaultServer
from tests.helpers import secret_values
from tests.test_dashboard import signed_in
from tests.test_dashboard_secrets import HTMX, VALUE, detail, edit, make_secret

pytestmark = pytest.mark.django_db

# 32 characters with symbols: generated as randAscii,32.
STORED = "Zx9!Zx9!Zx9!Zx9!Zx9!Zx9!Zx9!Zx9!"


class FormData(HTMLParser):
    """What a browser would submit from a page's form as it stands (no JavaScript)."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self.select = self.textarea = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name, kind = a.get("name", ""), a.get("type", "text")
        if tag == "input" and name and kind not in ("checkbox", "radio", "file", "submit"):
            self.data[name] = a.get("value", "")
        elif tag == "input" and name and kind in ("checkbox", "radio") and "checked" in a:
            self.data[name] = a.get("value", "on")
        elif tag == "select":
            self.select = name
        elif tag == "option" and self.select and "selected" in a:
            self.data[self.select] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = name
            self.data[name] = ""

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.data[self.textarea] += (
                data.removeprefix("\n") if not self.data[self.textarea] else data
            )

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self.textarea = ""
        elif tag == "select":
            self.select = ""


def form_data(html: str) -> dict[str, str]:
    parser = FormData()
    parser.feed(html.split('class="card form secret-form')[1].split("</form>")[0])
    return parser.data


def actions(row: SecretIndex) -> list[str]:
    events = AuditEvent.objects.filter(target_id=row.secret_id).order_by("pk")
    return [e.action for e in events]


def reads(row: SecretIndex) -> list[dict[str, Any]]:
    events = AuditEvent.objects.filter(action="secret.read", target_id=row.secret_id)
    return [e.detail for e in events.order_by("pk")]


def reveal(client: Client, personas: Personas, row: SecretIndex, field: str, **kw: Any) -> Any:
    return client.post(detail(personas, row, f"edit/reveal/{field}/"), **kw)


def password_secret(personas: Personas, password: str = STORED) -> SecretIndex:
    values = {"username": "root", "password": password}
    return make_secret(personas, name="db-root", type="password", values=values)


# --------------------------------------------------------------------------- item 9


def test_opening_the_page_and_the_form_records_no_read(
    vault: VaultServer, personas: Personas
) -> None:
    """Item 9: the secret page and the edit form show no secret value: no secret.read."""
    row = password_secret(personas)
    client = signed_in(personas, "member")
    page = client.get(detail(personas, row)).content.decode()
    form = client.get(detail(personas, row, "edit/")).content.decode()
    assert "root" in page and 'value="root"' in form
    assert STORED not in page and STORED not in form
    assert reads(row) == []


def test_an_edit_records_the_write_and_no_read(vault: VaultServer, personas: Personas) -> None:
    """Item 9: one edit, then the page it lands on: exactly one write, no read."""
    row = password_secret(personas)
    client = signed_in(personas, "member")
    client.get(detail(personas, row, "edit/"))
    data = {"version": row.version, "verify": "on", "v_username": "admin"}
    response = client.post(detail(personas, row, "edit/"), {**data, "password_mode": "keep"})
    assert response.status_code == 302
    client.get(response["Location"])
    assert actions(row) == ["secret.create", "secret.update"]
    assert secret_values(row=row) == {"username": "admin", "password": STORED}


def test_a_reveal_on_the_form_records_one_read_naming_the_field(
    vault: VaultServer, personas: Personas
) -> None:
    """Item 9: revealing a value in place is one secret.read of that field."""
    row = make_secret(personas, values={"API_KEY": VALUE, "REGION": "eu-west-1"})
    client = signed_in(personas, "member")
    answer = reveal(client, personas, row, "API_KEY", headers=HTMX)
    html = answer.content.decode()
    assert answer.status_code == 200 and "no-store" in answer["Cache-Control"]
    assert "<html" not in html and f'value="{VALUE}"' in html
    assert 'name="shown_API_KEY"' in html and "eu-west-1" not in html
    assert [(r["fields"], r["purpose"]) for r in reads(row)] == [(["API_KEY"], "edit")]


# --------------------------------------------------------------------------- item 3


def test_the_form_shows_safe_fields_and_certificates_in_clear(
    vault: VaultServer, personas: Personas
) -> None:
    """Item 3: names, hosts and certificates are on the form as stored; keys stay masked."""
    values = {"hosts": "shop.example.test", "validity": "720h"}
    row = make_secret(personas, name="shop-tls", type="tls", values=values)
    stored = secret_values(row=row)
    form = signed_in(personas, "member").get(detail(personas, row, "edit/")).content.decode()
    assert 'value="shop.example.test"' in form
    assert stored["serverCert"].strip() in form and stored["caCert"].strip() in form
    assert stored["serverKey"] not in form and stored["caKey"] not in form
    assert 'name="clear_serverKey"' in form and 'name="clear_hosts"' not in form
    assert "/edit/reveal/serverKey/" in form and "/edit/reveal/hosts/" not in form


def test_a_revealed_value_is_saved_as_it_stands(vault: VaultServer, personas: Personas) -> None:
    """Item 3: after a reveal, the input holds the value: emptying it stores an empty value."""
    row = make_secret(personas, values={"API_KEY": VALUE, "TOKEN": "t-1"})
    client = signed_in(personas, "member")
    data = {"shown_API_KEY": "1", "v_API_KEY": "", "shown_TOKEN": "1", "v_TOKEN": "t-2"}
    answer = edit(client, personas, row, data)
    assert answer.status_code == 200 and answer["HX-Redirect"] == detail(personas, row)
    assert secret_values(row=row) == {"API_KEY": "", "TOKEN": "t-2"}


def test_a_hidden_value_is_kept_when_empty_and_cleared_on_request(
    vault: VaultServer, personas: Personas
) -> None:
    """Item 3: "Clear this value" sets a value to empty; an empty hidden input keeps it."""
    row = make_secret(personas, values={"API_KEY": VALUE, "TOKEN": "t-1"})
    client = signed_in(personas, "member")
    form = client.get(detail(personas, row, "edit/")).content.decode()
    assert 'name="clear_API_KEY"' in form and "Clear this value" in form
    edit(client, personas, row, {"v_API_KEY": "", "clear_TOKEN": "on"})
    assert secret_values(row=row) == {"API_KEY": VALUE, "TOKEN": ""}


def test_clearing_and_typing_the_same_value_is_one_error(
    vault: VaultServer, personas: Personas
) -> None:
    row = make_secret(personas, values={"API_KEY": VALUE})
    answer = edit(
        signed_in(personas, "member"), personas, row, {"v_API_KEY": "x", "clear_API_KEY": "on"}
    )
    html = answer.content.decode()
    assert 'id="id_clear_API_KEY_error" hx-swap-oob="true"><p class="error">Type a new' in html
    assert secret_values(row=row) == {"API_KEY": VALUE}


def test_a_reveal_without_javascript_answers_the_whole_form(
    vault: VaultServer, personas: Personas
) -> None:
    """The Reveal button posts the form to the reveal URL: what was typed stays."""
    row = make_secret(personas, values={"API_KEY": VALUE, "TOKEN": "t-1"})
    client = signed_in(personas, "member")
    data = {"version": row.version, "pair_key_0": "NEW_KEY", "pair_value_0": "", "v_TOKEN": ""}
    answer = reveal(client, personas, row, "API_KEY", data=data)
    html = answer.content.decode()
    assert answer.status_code == 200 and "<html" in html and "no-store" in answer["Cache-Control"]
    assert f'value="{VALUE}"' in html and 'value="NEW_KEY"' in html and "t-1" not in html


def test_reveal_refuses_what_it_cannot_show(vault: VaultServer, personas: Personas) -> None:
    row = password_secret(personas)
    member = signed_in(personas, "member")
    assert reveal(member, personas, row, "nonsense", headers=HTMX).status_code == 404
    assert reveal(signed_in(personas, "viewer"), personas, row, "password").status_code == 403
    assert reveal(signed_in(personas, "outsider"), personas, row, "password").status_code == 404
    assert member.get(detail(personas, row, "edit/reveal/password/")).status_code == 405
    assert reads(row) == []


def test_the_password_has_one_control_started_from_the_stored_password(
    vault: VaultServer, personas: Personas
) -> None:
    """Item 3: keep / set / generate, the generator at the stored 32 characters with symbols."""
    row = password_secret(personas)
    form = signed_in(personas, "member").get(detail(personas, row, "edit/")).content.decode()
    modes = re.findall(r'name="password_mode" value="(\w+)"', form)
    assert modes == ["keep", "type", "generate"]
    assert 'name="regenerate"' not in form and "Generate new values" not in form
    assert re.search(r'name="gen_length" value="32"', form)
    assert re.search(r'<option value="randAscii" selected>', form)
    assert "The stored password is 32 letters, digits and symbols" in form
    assert "/edit/reveal/password/" in form and STORED not in form


@pytest.mark.parametrize(
    ("stored", "shape", "length"),
    [("hunter22", "8 letters and digits", 8), ("12345678", "8 digits", 8), ("ab1", "", 24)],
)
def test_the_generator_reads_the_stored_passwords_shape(
    vault: VaultServer, personas: Personas, stored: str, shape: str, length: int
) -> None:
    row = password_secret(personas, stored)
    form = signed_in(personas, "member").get(detail(personas, row, "edit/")).content.decode()
    assert f'name="gen_length" value="{length}"' in form
    if shape:
        assert f"The stored password is {shape};" in form
    else:
        assert "The stored password is" not in form


def test_generate_keep_and_set_do_what_they_say(vault: VaultServer, personas: Personas) -> None:
    row = password_secret(personas)
    client = signed_in(personas, "member")
    edit(client, personas, row, {"v_username": "root", "password_mode": "keep"})
    assert secret_values(row=row)["password"] == STORED
    row.refresh_from_db()
    shape = {"gen_length": "32", "gen_alphabet": "randAscii"}
    made = edit(client, personas, row, {"v_username": "root", "password_mode": "generate", **shape})
    assert made.status_code == 200
    new = secret_values(row=row)["password"]
    assert len(new) == 32 and new != STORED and not new.isalnum()
    row.refresh_from_db()
    edit(client, personas, row, {"v_username": "root", "password_mode": "type", "v_password": "p"})
    assert secret_values(row=row)["password"] == "p"


def test_a_revealed_password_is_shown_beside_keep(vault: VaultServer, personas: Personas) -> None:
    row = password_secret(personas)
    html = reveal(signed_in(personas, "member"), personas, row, "password", headers=HTMX)
    text = html.content.decode()
    assert 'class="current-value revealed' in text and f">{STORED}</pre>" in text
    assert 'name="v_password"' not in text and "data-focus" in text
    assert reads(row)[-1]["fields"] == ["password"]


def test_an_htpasswd_line_without_its_password_says_so(
    vault: VaultServer, personas: Personas
) -> None:
    line = "web:$2y$10$" + "a" * 53
    values = {"username": "web", "htpasswd": line}
    row = make_secret(personas, name="web-auth", type="htpasswd", values=values)
    form = signed_in(personas, "member").get(detail(personas, row, "edit/")).content.decode()
    assert "No password is stored." in form and "The stored password is" not in form


# --------------------------------------------------------------------------- item 4


@pytest.mark.parametrize(
    ("type_name", "values"),
    [
        ("generic", {"API_KEY": VALUE, "REGION": "eu"}),
        ("password", {"username": "root", "password": STORED}),
        ("tls", {"hosts": "a.example.test"}),
        ("ssh", {"user": "git", "identifier": "ci"}),
        ("htpasswd", {"username": "web"}),
    ],
)
def test_a_stale_edit_names_the_conflict_and_swaps_only_slots_the_form_has(
    vault: VaultServer, personas: Personas, type_name: str, values: dict[str, str]
) -> None:
    """Item 4: the conflict answer's out-of-band swaps all have a target on the page."""
    row = make_secret(personas, name=f"x-{type_name}", type=type_name, values=values)
    client = signed_in(personas, "member")
    page = client.get(detail(personas, row, "edit/")).content.decode()
    unchanged = form_data(page)
    assert edit(client, personas, row, unchanged).status_code == 200
    answer = client.post(detail(personas, row, "edit/"), unchanged, headers=HTMX)
    html = answer.content.decode()
    assert answer["HX-Reswap"] == "none" and "Someone saved this secret" in html
    swapped = re.findall(r'id="([^"]+)"[^>]*hx-swap-oob', html)
    assert swapped and "form-errors" in swapped
    ids = set(re.findall(r'id="([^"]+)"', page))
    assert [i for i in swapped if i not in ids] == []


# --------------------------------------------------------------------------- item 10


def test_help_text_says_the_generator_in_words(vault: VaultServer, personas: Personas) -> None:
    """Item 10: no raw spec ("method,length ... randAlphaNum") on the secret's pages."""
    row = password_secret(personas)
    client = signed_in(personas, "member")
    for path in ("", "edit/"):
        html = client.get(detail(personas, row, path)).content.decode()
        assert "one of randAlphaNum" not in html and "method,length" not in html, path
    assert "24 random letters and digits" in client.get(detail(personas, row)).content.decode()
