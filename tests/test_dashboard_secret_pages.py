"""A secret's own pages: what is shown without a reveal, forms that report every error at
once, the password's Generate control, key files, .env paste and download, deletes that
name the installed copies, and the wording and focus details around them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import AuditEvent
from clusters.models import Cluster, Installation
from secrets_app.models import SecretIndex
from secrets_app.templatetags.secret_ui import until
from secrets_app.types.base import article
from tests.conftest import Personas, VaultServer
from tests.helpers import secret_values
from tests.test_dashboard import signed_in
from tests.test_dashboard_secrets import HTMX, VALUE, base, create, detail, edit, make_secret
from tests.test_types_cloud import service_account

pytestmark = pytest.mark.django_db

GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"


def reads(row: SecretIndex) -> list[dict[str, Any]]:
    events = AuditEvent.objects.filter(action="secret.read", target_id=row.secret_id)
    return [e.detail for e in events]


# --------------------------------------------------------------------------- detail


def test_generic_key_names_are_listed_for_every_role_without_values(
    vault: VaultServer, personas: Personas
) -> None:
    row = make_secret(personas, values={"API_KEY": VALUE, "REGION": "eu-west-1"})
    for persona in ("admin", "member", "viewer"):
        html = signed_in(personas, persona).get(detail(personas, row)).content.decode()
        assert '<code class="key-name">API_KEY</code>' in html, persona
        assert '<code class="key-name">REGION</code>' in html, persona
        assert VALUE not in html and "eu-west-1" not in html, persona
    # No value reached a page, so no read was recorded on anyone's behalf.
    assert reads(row) == []


def test_members_reveal_one_generic_key(vault: VaultServer, personas: Personas) -> None:
    row = make_secret(personas, values={"API_KEY": VALUE, "REGION": "eu-west-1"})
    client = signed_in(personas, "member")
    html = client.post(detail(personas, row, "values/API_KEY/"), headers=HTMX).content.decode()
    assert VALUE in html and "eu-west-1" not in html
    assert reads(row)[-1]["fields"] == ["API_KEY"]


def test_fields_that_are_no_secret_are_shown_in_clear_and_no_read_is_recorded(
    vault: VaultServer, personas: Personas
) -> None:
    """Item 9: showing names, hosts and certificates is not a read of secret values."""
    values = {"hosts": "shop.example.test", "validity": "720h"}
    row = make_secret(personas, name="shop-tls", type="tls", values=values)
    stored = secret_values(row=row)
    html = signed_in(personas, "member").get(detail(personas, row)).content.decode()
    assert 'aria-label="Value of hosts">shop.example.test<' in html
    assert 'aria-label="Value of keyType">rsa-2048<' in html
    assert stored["caKey"] not in html and stored["serverKey"] not in html
    assert stored["caCert"] in html  # a certificate is public: shown in clear
    assert html.count(">Reveal<") == 4
    assert reads(row) == []


def test_viewers_see_field_names_but_no_safe_values(vault: VaultServer, personas: Personas) -> None:
    row = make_secret(personas, type="password", values={"username": "root-user"})
    html = signed_in(personas, "viewer").get(detail(personas, row)).content.decode()
    assert "root-user" not in html and '<code class="key-name">username</code>' in html
    assert ">Reveal<" not in html and "Download as .env" not in html
    assert reads(row) == []


def test_reveal_and_hide_answers_keep_the_focus_on_the_control(
    vault: VaultServer, personas: Personas
) -> None:
    # The answer marks the control with data-focus, which app.js focuses once htmx has wired
    # it up (autofocus would let the browser focus it before, and an Enter then leaves).
    row = make_secret(personas, type="password", values={"username": "u", "password": VALUE})
    client = signed_in(personas, "member")
    shown = client.post(detail(personas, row, "values/password/"), headers=HTMX).content.decode()
    assert 'class="hide-link"' in shown and " data-focus>Hide" in shown
    assert "autofocus" not in shown
    hidden = client.get(detail(personas, row, "values/password/"), headers=HTMX).content.decode()
    assert "data-focus>Reveal" in hidden and "autofocus" not in hidden
    page = client.get(detail(personas, row)).content.decode()
    assert "autofocus" not in page and "data-focus" not in page
    tags = client.post(detail(personas, row, "tags/add/"), {"tag": "a"}, headers=HTMX)
    assert "data-focus" in tags.content.decode() and "autofocus" not in tags.content.decode()


# --------------------------------------------------------------------------- .env


def test_env_download_is_a_post_audited_and_never_cached(
    vault: VaultServer, personas: Personas
) -> None:
    row = make_secret(personas, values={"API_KEY": 'a"b', "PEM": "line1\nline2"})
    url = detail(personas, row, "download/env/")
    client = signed_in(personas, "member")
    assert "Download as .env" in client.get(detail(personas, row)).content.decode()
    response = client.post(url)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert response["Content-Disposition"] == 'attachment; filename="payments-db.env"'
    assert response.content.decode() == 'API_KEY="a\\"b"\nPEM="line1\\nline2"\n'
    assert reads(row)[-1]["purpose"] == "download"
    assert client.get(url).status_code == 405
    assert signed_in(personas, "viewer").post(url).status_code == 403
    assert signed_in(personas, "outsider").post(url).status_code == 404
    anonymous = Client().post(url)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


def test_a_pasted_env_block_becomes_keys(vault: VaultServer, personas: Personas) -> None:
    block = "# comment\nexport TOKEN=\"abc def\"\nREGION=eu\n\nQUOTED='x=y'\n"
    data = {"name": "from-env", "type": "generic", "env_block": block}
    response = create(signed_in(personas, "member"), personas, data)
    assert response.status_code == 302
    row = SecretIndex.objects.get(name="from-env")
    assert secret_values(row=row) == {"TOKEN": "abc def", "REGION": "eu", "QUOTED": "x=y"}


def test_env_block_errors_name_lines_not_values(vault: VaultServer, personas: Personas) -> None:
    block = f"GOOD=1\n{VALUE}\nbad key=2\nGOOD=3\n"
    data = {"name": "bad-env", "type": "generic", "env_block": block}
    html = create(signed_in(personas, "member"), personas, data).content.decode()
    assert "Line 2 is not KEY=value." in html and "Line 3 is not KEY=value." in html
    assert "Line 4: the key &#x27;GOOD&#x27; is given twice." in html
    assert VALUE not in html and not SecretIndex.objects.exists()


# --------------------------------------------------------------------------- generic forms


def test_a_bad_generic_key_is_reported_on_the_key(vault: VaultServer, personas: Personas) -> None:
    data = {"name": "x", "type": "generic", "pair_key_0": "ok", "pair_value_0": "1"}
    data |= {"pair_key_3": "bad key!", "pair_value_3": VALUE}
    response = create(signed_in(personas, "member"), personas, data, headers=HTMX)
    html = response.content.decode()
    key_slot = html.split('id="id_pair_key_3_error"')[1].split("</div>")[0]
    value_slot = html.split('id="id_pair_value_3_error"')[1].split("</div>")[0]
    assert "A key may contain only letters" in key_slot and "error" not in value_slot
    assert "Value 4" not in html and VALUE not in html


def test_an_empty_generic_secret_is_refused(vault: VaultServer, personas: Personas) -> None:
    data = {"name": "empty", "type": "generic", "pair_key_0": "", "pair_value_0": ""}
    response = create(signed_in(personas, "member"), personas, data)
    assert response.status_code == 400
    assert "needs at least one key and value" in response.content.decode()
    assert not SecretIndex.objects.exists()


def test_generic_keys_are_renamed_in_place(vault: VaultServer, personas: Personas) -> None:
    row = make_secret(personas, values={"OLD": VALUE, "KEEP": "k"})
    client = signed_in(personas, "member")
    form = client.get(detail(personas, row, "edit/")).content.decode()
    assert 'name="name_OLD"' in form and 'value="OLD"' in form and VALUE not in form
    bad = edit(client, personas, row, {"name_OLD": "KEEP", "name_KEEP": "KEEP"})
    assert "given twice" in bad.content.decode() and 'id="id_name_' in bad.content.decode()
    ok = edit(client, personas, row, {"name_OLD": "NEW", "name_KEEP": "KEEP"})
    assert ok.status_code == 200
    row.refresh_from_db()
    assert secret_values(row=row) == {"NEW": VALUE, "KEEP": "k"}
    removed = edit(client, personas, row, {"rm_NEW": "on", "rm_KEEP": "on"})
    assert "needs at least one key" in removed.content.decode()


# --------------------------------------------------------------------------- typed forms


def test_a_bad_tls_form_reports_every_error_at_once(vault: VaultServer, personas: Personas) -> None:
    data = {"name": "bad-tls", "type": "tls", "v_hosts": "not a host!", "v_validity": "soon"}
    data |= {"v_keyType": "dsa-512", "v_serverKey": "garbage"}
    response = create(signed_in(personas, "member"), personas, data, headers=HTMX)
    html = response.content.decode()
    for field, message in [
        ("hosts", "Each host must be an IP address"),
        ("validity", "Go-style duration"),
        ("keyType", "Must be one of"),
        ("serverKey", "Not a PEM private key"),
        ("caCert", "Required when certificates are supplied"),
    ]:
        slot = html.split(f'id="id_v_{field}_error"')[1].split("</div>")[0]
        assert message in slot, field
    assert "garbage" not in html


def test_value_errors_come_with_a_name_error(vault: VaultServer, personas: Personas) -> None:
    data = {"name": "Bad Name", "type": "tls", "v_hosts": "ok.example.test", "v_validity": "x"}
    html = create(signed_in(personas, "member"), personas, data).content.decode()
    assert "DNS-1123" in html and "Go-style duration" in html


def test_key_type_and_validity_are_selects_of_the_registry_choices(personas: Personas) -> None:
    html = signed_in(personas, "member").get(base(personas) + "new/?type=tls").content.decode()
    key_type = html.split('name="v_keyType"')[1].split("</select>")[0]
    assert all(f'value="{k}"' in key_type for k in ("rsa-2048", "rsa-4096", "ecdsa-p256"))
    validity = html.split('name="v_validity"')[1].split("</select>")[0]
    assert 'value="8760h"' in validity and 'value="720h"' in validity
    assert "a new TLS secret" in html


def test_headings_use_the_right_article_and_label(personas: Personas) -> None:
    client = signed_in(personas, "member")
    html = client.get(base(personas) + "new/?type=amazon").content.decode()
    assert "a new Amazon secret" in html and "a amazon" not in html.lower()
    assert [article(n) for n in ("amazon", "ssh", "tls", "generic")] == ["an", "an", "a", "a"]


def test_generate_control_makes_a_password_of_the_chosen_shape(
    vault: VaultServer, personas: Personas
) -> None:
    client = signed_in(personas, "member")
    form = client.get(base(personas) + "new/?type=password").content.decode()
    assert 'name="password_mode"' in form and 'name="gen_length"' in form
    data = {"name": "gen", "type": "password", "v_username": "u", "password_mode": "generate"}
    posted = create(client, personas, {**data, "gen_length": "40", "gen_alphabet": "randNumeric"})
    assert posted.status_code == 302
    response = client.get(posted["Location"])
    password = secret_values(row=SecretIndex.objects.get(name="gen"))["password"]
    assert len(password) == 40 and password.isdigit() and password in response.content.decode()


def test_a_typed_password_is_stored_as_typed_even_when_it_reads_like_a_spec(
    vault: VaultServer, personas: Personas
) -> None:
    client = signed_in(personas, "member")
    for name, typed in (("typed-a", "randAlpha,8"), ("typed-b", "randFoo,5")):
        data = {"name": name, "type": "password", "v_username": "u", "v_password": typed}
        response = create(client, personas, {**data, "password_mode": "type"})
        assert response.status_code == 302, name
        assert secret_values(row=SecretIndex.objects.get(name=name))["password"] == typed


def test_google_key_file_can_be_pasted(vault: VaultServer, personas: Personas) -> None:
    document = service_account(GOOGLE_TOKEN)
    data = {"name": "gcp", "type": "google", "json_text": json.dumps(document)}
    response = create(signed_in(personas, "member"), personas, {**data, "verify": ""})
    assert response.status_code == 302
    assert secret_values(row=SecretIndex.objects.get(name="gcp")) == document


def test_google_key_file_can_be_uploaded(vault: VaultServer, personas: Personas) -> None:
    document = service_account(GOOGLE_TOKEN)
    upload = SimpleUploadedFile("key.json", json.dumps(document).encode(), "application/json")
    client = signed_in(personas, "member")
    data = {"name": "gcp-file", "type": "google", "json_file": upload}
    response = client.post(base(personas) + "new/", data)
    assert response.status_code == 302
    stored = secret_values(row=SecretIndex.objects.get(name="gcp-file"))
    assert stored["client_email"] == document["client_email"]


def test_a_broken_key_file_is_named(vault: VaultServer, personas: Personas) -> None:
    client = signed_in(personas, "member")
    broken = {"name": "gcp", "type": "google", "json_text": '{"type": "service_account",'}
    html = create(client, personas, broken, headers=HTMX).content.decode()
    slot = html.split('id="id_json_text_error"')[1].split("</div>")[0]
    assert "Not valid JSON (line 1" in slot
    partial = {"name": "gcp", "type": "google", "json_text": '{"type": "service_account"}'}
    html = create(client, personas, partial, headers=HTMX).content.decode()
    assert "The key file lacks" in html and "private_key" in html
    assert not SecretIndex.objects.exists()


# --------------------------------------------------------------------------- delete


def install(personas: Personas, row: SecretIndex, cluster_name: str, namespace: str) -> None:
    cluster = Cluster.objects.filter(organization=personas.org, name=cluster_name).first()
    if cluster is None:
        cluster = Cluster.objects.create(
            organization=personas.org, name=cluster_name, kubeconfig_secret_id="0" * 64
        )
    Installation.objects.create(
        cluster=cluster,
        namespace=namespace,
        secret_id=row.secret_id,
        secret_name=row.name,
        kube_name=row.name,
        version=row.version,
        sourcing="env",
    )


def test_delete_lists_installed_copies_and_needs_the_name(
    vault: VaultServer, personas: Personas
) -> None:
    row = make_secret(personas)
    install(personas, row, "prod-eu", "payments")
    install(personas, row, "prod-us", "payments")
    client = signed_in(personas, "member")
    page = client.get(detail(personas, row, "delete/")).content.decode()
    assert "2 installed copies" in page and "prod-eu, prod-us" in page
    assert 'name="confirm_name"' in page
    refused = client.post(detail(personas, row, "delete/"), {"confirm_name": "payments"})
    assert refused.status_code == 400 and "Type payments-db exactly" in refused.content.decode()
    assert SecretIndex.objects.filter(pk=row.pk).exists()
    done = client.post(detail(personas, row, "delete/"), {"confirm_name": "payments-db"})
    assert done.status_code == 302 and not SecretIndex.objects.filter(pk=row.pk).exists()


def test_delete_without_copies_needs_no_name(vault: VaultServer, personas: Personas) -> None:
    row = make_secret(personas)
    client = signed_in(personas, "member")
    page = client.get(detail(personas, row, "delete/")).content.decode()
    assert "not installed on any cluster" in page and 'name="confirm_name"' not in page
    assert client.post(detail(personas, row, "delete/")).status_code == 302


def test_delete_page_personas(vault: VaultServer, personas: Personas) -> None:
    row = make_secret(personas)
    url = detail(personas, row, "delete/")
    assert signed_in(personas, "admin").get(url).status_code == 200
    assert signed_in(personas, "viewer").get(url).status_code == 403
    assert signed_in(personas, "outsider").get(url).status_code == 404
    assert Client().get(url).status_code == 302


# --------------------------------------------------------------------------- wording


def test_expiry_wording_is_human() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert until(now + timedelta(seconds=20), now) == "in under a minute"
    assert until(now - timedelta(seconds=1), now) == "now"
    assert until(now + timedelta(hours=3, minutes=5), now) == "in 3\xa0hours"
    assert "0 minutes" not in until(now + timedelta(seconds=59), now)
