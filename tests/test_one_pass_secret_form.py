"""The new-secret form names every problem in one pass, each on its field, the offending item
named; a refused key file is one clear error on the key file (item 5 of the dashboard's third
pass)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from secrets_app import services
from secrets_app.models import SecretIndex
from tests.conftest import Personas, VaultServer
from tests.helpers import assert_problem
from tests.test_dashboard import signed_in

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
GOOGLE_KEY = {
    "type": "service_account",
    "project_id": "demo-project",
    "private_key_id": "abc123",
    "private_key": "not a key",
    "client_email": "not an email",
    "client_id": "1234567890",
    "auth_uri": "https://accounts.google.com/o/oauth2/auth",
    "token_uri": "https://oauth2.googleapis.com/token",
    "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
    "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/x",
}


def create(personas: Personas, data: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    client: Client = signed_in(personas, "member")
    url = f"/orgs/{personas.org.pk}/secrets/new/"
    return client.post(url, data, headers=headers)


def stored_generic(personas: Personas, name: str) -> SecretIndex:
    """A generic secret named ``name`` in the personas' org."""
    return services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name=name,
        type="generic",
        values={"K": "v"},
    ).row


def errors_of(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.status_code
    return {k: list(v) for k, v in response.context["form"].errors.items()}


def test_name_tags_and_a_bad_key_are_flagged_together(personas: Personas) -> None:
    """Item 5: `My Secret!`, tags `env prod,,banzai:readonly` and a bad key in one submit."""
    data = {
        "type": "generic",
        "name": "My Secret!",
        "tags": "env prod,,banzai:readonly",
        "pair_key_0": "bad key!",
        "pair_value_0": "v",
    }
    errors = errors_of(create(personas, data))
    assert set(errors) == {"name", "tags", "pair_key_0"}
    assert "capitals (M S)" in errors["name"][0] and "'my-secret'" in errors["name"][0]
    assert "after 'env prod'" in errors["tags"][0]
    assert errors["pair_key_0"][0].endswith("This one has ' ' '!'.")
    assert not SecretIndex.objects.exists()


def test_every_offending_tag_is_named(personas: Personas) -> None:
    """Item 5: the tag error says which tags are wrong, all of them."""
    data = {
        "type": "generic",
        "name": "ok-name",
        "tags": "env:prod -leading über banzai:mine",
        "pair_key_0": "K",
        "pair_value_0": "v",
    }
    errors = errors_of(create(personas, data))
    assert set(errors) == {"tags"}
    text = " ".join(errors["tags"])
    assert "'-leading'" in text and "'über'" in text and "'banzai:mine'" in text
    assert "'env:prod'" not in text


def test_a_taken_name_is_flagged_with_the_other_problems(
    vault: VaultServer, personas: Personas
) -> None:
    """Item 5: the name's conflict is known before the values are fixed, not after."""
    stored_generic(personas, "taken")
    data = {"type": "generic", "name": "taken", "pair_key_0": "bad key", "pair_value_0": "v"}
    errors = errors_of(create(personas, data))
    assert set(errors) == {"name", "pair_key_0"}
    assert "already exists" in errors["name"][0]


def test_htmx_gets_every_error_slot_filled(personas: Personas) -> None:
    """Item 5: an htmx submit answers each field's error slot out of band, and the summary."""
    data = {
        "type": "password",
        "name": "Bad Name",
        "tags": "a,,b",
        "v_username": "",
        "password_mode": "generate",
    }
    response = create(personas, data, headers=HTMX)
    assert response.status_code == 200 and response["HX-Reswap"] == "none"
    html = response.content.decode()
    for slot in ("id_name_error", "id_tags_error", "id_v_username_error"):
        start = html.index(f'id="{slot}"')
        assert '<p class="error">' in html[start : html.index("</div>", start)], slot
    assert 'id="form-errors"' in html and "This could not be saved" in html


def test_bad_google_json_is_one_error_on_the_key_file(personas: Personas) -> None:
    """Item 5: a key file that is not JSON gives one error, not ten "required"."""
    data = {"type": "google", "name": "gcp", "json_text": '{"type": "service_account",'}
    errors = errors_of(create(personas, data))
    assert list(errors) == ["json_text"] and len(errors["json_text"]) == 1
    assert "Not valid JSON" in errors["json_text"][0]


def test_a_key_file_of_another_kind_is_one_error_naming_what_it_lacks(
    personas: Personas,
) -> None:
    """Item 5: an OAuth client file pasted as a service-account key: one error."""
    other = json.dumps({"installed": {"client_id": "x", "client_secret": "y"}})
    errors = errors_of(create(personas, {"type": "google", "name": "gcp", "json_text": other}))
    assert list(errors) == ["json_text"] and len(errors["json_text"]) == 1
    assert "lacks" in errors["json_text"][0] and "private_key" in errors["json_text"][0]


def test_google_given_nothing_is_one_error(personas: Personas) -> None:
    """Item 5: nothing pasted and nothing typed: one error asking for the key file."""
    errors = errors_of(create(personas, {"type": "google", "name": "gcp"}))
    assert list(errors) == ["json_text"] and len(errors["json_text"]) == 1


def test_bad_fields_of_a_pasted_key_file_are_named_on_the_key_file(
    personas: Personas,
) -> None:
    """Item 5: the pasted file's bad fields are named on the paste box, with the name's
    error in the same pass."""
    data = {"type": "google", "name": "GCP key", "json_text": json.dumps(GOOGLE_KEY)}
    errors = errors_of(create(personas, data))
    assert set(errors) == {"name", "json_text"}
    text = " ".join(errors["json_text"])
    assert "private_key:" in text and "client_email: Must be an email address." in text
    assert not any("required" in e for e in errors["json_text"])


def test_a_typed_field_keeps_its_error_on_itself(personas: Personas) -> None:
    """Item 5: a value typed below the paste box wins, and its error stays on it."""
    data = {
        "type": "google",
        "name": "gcp",
        "json_text": json.dumps(GOOGLE_KEY),
        "v_client_email": "still-not-an-email",
    }
    errors = errors_of(create(personas, data))
    assert errors["v_client_email"] == ["Must be an email address."]
    assert any(e.startswith("private_key:") for e in errors["json_text"])


def test_the_api_names_every_bad_tag_in_its_problem_document(
    vault: VaultServer, personas: Personas, clients: Any
) -> None:
    """Item 5: the API's problem document keeps its shape and names the offending tags."""
    body = {"name": "x", "type": "generic", "values": {"K": "v"}, "tags": ["ok", "-a", "b c"]}
    response = clients["member"].post(
        f"/api/v1/orgs/{personas.org.pk}/secrets", body, format="json"
    )
    problem = assert_problem(response, 400, field="tags")
    message = " ".join(problem["errors"]["tags"])
    assert "'-a'" in message and "'b c'" in message and "'ok'" not in message
    assert not SecretIndex.objects.exists()


def test_the_api_names_name_tags_and_values_problems_together(
    vault: VaultServer, personas: Personas, clients: Any
) -> None:
    """Item 5: the API's create answers every problem in one problem document, in its
    usual shape, and asks no provider."""
    body = {
        "name": "Bad Name",
        "type": "amazon",
        "tags": ["-x"],
        "values": {"AWS_ACCESS_KEY_ID": "nope", "AWS_SECRET_ACCESS_KEY": "short"},
    }
    response = clients["member"].post(
        f"/api/v1/orgs/{personas.org.pk}/secrets", body, format="json"
    )
    problem = assert_problem(response, 400)
    assert set(problem["errors"]) == {
        "name",
        "tags",
        "values.AWS_ACCESS_KEY_ID",
        "values.AWS_SECRET_ACCESS_KEY",
    }
    assert not SecretIndex.objects.exists()
