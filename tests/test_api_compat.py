"""The original product's behaviours that its clients rely on, on the secrets API.

Masked values in lists, the ``ids`` filter, a 400 for an unknown type, the system tags
``banzai:hidden`` and ``banzai:readonly``, a create without values, the error members
``code``/``message``/``error``, and one clock for ``updatedAt``.
"""

from __future__ import annotations

from typing import Any

import pytest

from secrets_app import vault as vault_module
from secrets_app.models import SecretIndex
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def secrets_url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/secrets"


def create(client: Any, org_id: int, name: str, **body: Any) -> dict[str, Any]:
    payload = {"name": name, "type": "generic", "values": {"k": "v"}, **body}
    response = client.post(secrets_url(org_id), payload, format="json")
    assert response.status_code == 201, response.content
    result: dict[str, Any] = response.json()
    return result


def names(client: Any, org_id: int, query: str = "") -> list[str]:
    response = client.get(secrets_url(org_id) + query)
    assert response.status_code == 200, response.content
    return [s["name"] for s in response.json()]


def test_lists_show_value_names_masked_unless_values_are_asked_for(vault, personas, clients):
    org = personas.org.pk
    create(clients["member"], org, "db", values={"user": "u", "pass": "s3cret-value"})
    for persona in ("admin", "member", "viewer"):
        listed = clients[persona].get(secrets_url(org))
        assert listed.json()[0]["values"] == {"pass": "<hidden>", "user": "<hidden>"}
        assert b"s3cret-value" not in listed.content
    shown = clients["member"].get(secrets_url(org) + "?values=true").json()
    assert shown[0]["values"] == {"user": "u", "pass": "s3cret-value"}


def test_masked_names_follow_an_update(vault, personas, clients):
    org = personas.org.pk
    created = create(clients["member"], org, "db", values={"a": "1"})
    url = f"{secrets_url(org)}/{created['id']}"
    updated = clients["member"].put(url, {"values": {"b": "2", "c": "3"}}, format="json")
    assert updated.status_code == 200
    assert clients["viewer"].get(secrets_url(org)).json()[0]["values"] == {
        "b": "<hidden>",
        "c": "<hidden>",
    }


def test_ids_filter_is_repeatable_and_scoped_to_the_org(vault, personas, clients):
    org = personas.org.pk
    a = create(clients["member"], org, "a")
    create(clients["member"], org, "b")
    c = create(clients["member"], org, "c")
    theirs = create(clients["outsider"], personas.other_org.pk, "x")
    assert names(clients["viewer"], org, f"?ids={a['id']}&ids={c['id']}") == ["a", "c"]
    assert names(clients["viewer"], org, f"?ids={theirs['id']}") == []
    assert names(clients["viewer"], org, f"?ids={a['id']}&type=password") == []


def test_an_unknown_type_filter_is_a_400_naming_type(vault, personas, clients):
    create(clients["member"], personas.org.pk, "a")
    body = assert_problem(
        clients["viewer"].get(secrets_url(personas.org.pk) + "?type=bogus"), 400, field="type"
    )
    assert "bogus" in body["detail"]
    assert names(clients["viewer"], personas.org.pk, "?type=generic") == ["a"]


def test_error_bodies_carry_the_original_members(vault, personas, clients):
    missing = clients["viewer"].get(f"{secrets_url(personas.org.pk)}/{'0' * 64}")
    body = assert_problem(missing, 404)
    assert body["code"] == 404
    assert body["message"] == body["detail"] == "Secret not found."
    assert body["error"] == body["title"] == "Not found"
    anonymous = assert_problem(clients["anonymous"].get(secrets_url(personas.org.pk)), 401)
    assert anonymous["code"] == 401 and anonymous["message"]


def test_hidden_secrets_stay_out_of_lists_but_can_be_read(vault, personas, clients):
    org = personas.org.pk
    create(clients["member"], org, "shown", tags=["team:a"])
    hidden = create(clients["member"], org, "internal", tags=["banzai:hidden", "team:a"])
    for query in ("", "?tags=team:a", "?type=generic", "?values=true"):
        assert names(clients["member"], org, query) == ["shown"], query
    assert names(clients["member"], org, f"?ids={hidden['id']}") == []
    got = clients["member"].get(f"{secrets_url(org)}/{hidden['id']}")
    assert got.status_code == 200 and got.json()["values"] == {"k": "v"}


def test_read_only_secrets_refuse_update_delete_and_tag_changes(vault, personas, clients):
    org = personas.org.pk
    created = create(clients["member"], org, "fixed", tags=["banzai:readonly"])
    url = f"{secrets_url(org)}/{created['id']}"
    for persona in ("member", "admin"):
        client = clients[persona]
        update = client.put(url, {"values": {"k": "changed"}}, format="json")
        assert "read-only" in assert_problem(update, 409)["detail"]
        assert_problem(client.delete(url), 409)
        assert_problem(client.put(f"{url}/tags/extra"), 409)
    # Nothing moved: same version, same values, still listed.
    got = clients["admin"].get(url).json()
    assert (got["version"], got["values"], got["tags"]) == (1, {"k": "v"}, ["banzai:readonly"])
    assert SecretIndex.objects.filter(secret_id=created["id"]).exists()


def test_tag_endpoints_refuse_system_tags(vault, personas, clients):
    org = personas.org.pk
    created = create(clients["member"], org, "s", tags=["banzai:hidden"])
    url = f"{secrets_url(org)}/{created['id']}/tags"
    for persona in ("member", "admin"):
        for method in ("put", "delete"):
            for tag in ("banzai:readonly", "banzai:hidden"):
                response = getattr(clients[persona], method)(f"{url}/{tag}")
                assert "system" in assert_problem(response, 400, field="tag")["detail"]
    assert clients["admin"].get(url).json() == ["banzai:hidden"]
    assert_problem(clients["viewer"].put(f"{url}/banzai:readonly"), 403)
    assert_problem(clients["outsider"].put(f"{url}/banzai:readonly"), 404)


def test_an_update_keeps_system_tags_and_adds_none(vault, personas, clients):
    org = personas.org.pk
    created = create(clients["member"], org, "s", tags=["banzai:hidden", "a"])
    url = f"{secrets_url(org)}/{created['id']}"
    kept = clients["member"].put(url, {"values": {"k": "2"}, "tags": ["b"]}, format="json")
    assert kept.status_code == 200 and kept.json()["tags"] == ["b", "banzai:hidden"]
    added = clients["member"].put(
        url, {"values": {"k": "3"}, "tags": ["banzai:readonly"]}, format="json"
    )
    assert_problem(added, 400, field="tags")
    assert clients["member"].get(url).json()["version"] == 2


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("generic", {}),
        ("generic", {"values": {}}),
        ("password", {}),
        ("tls", {"values": {}}),
    ],
)
def test_a_create_without_values_is_a_400_naming_values(vault, personas, clients, kind, body):
    payload = {"name": "empty", "type": kind, **body}
    response = clients["member"].post(secrets_url(personas.org.pk), payload, format="json")
    errors = assert_problem(response, 400, field="values")["errors"]
    assert "values" in errors
    assert not SecretIndex.objects.exists()
    assert vault_module.list_keys(f"orgs/{personas.org.pk}") == []


def test_a_type_that_generates_everything_needs_no_values(vault, personas, clients):
    payload = {"name": "deploy-key", "type": "ssh"}
    response = clients["member"].post(secrets_url(personas.org.pk), payload, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["generated"]


def test_updated_at_is_vaults_time_and_a_failed_duplicate_does_not_move_it(
    vault, personas, clients
):
    org = personas.org.pk
    created = create(clients["member"], org, "db")
    document = vault_module.read(f"orgs/{org}/{created['id']}")
    assert document is not None
    assert created["updatedAt"] == _api_time(document.created_time)
    duplicate = clients["member"].post(
        secrets_url(org), {"name": "db", "type": "generic", "values": {"k": "x"}}, format="json"
    )
    assert_problem(duplicate, 409)
    listed = clients["viewer"].get(secrets_url(org)).json()
    assert listed[0]["updatedAt"] == created["updatedAt"]


def _api_time(vault_time: str) -> str:
    """Vault's RFC 3339 time in the API's form (UTC, microseconds, ``Z``)."""
    parsed = vault_module.parse_time(vault_time)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
