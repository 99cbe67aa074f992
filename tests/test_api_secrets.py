"""The secrets API end to end against the real OpenBao: CRUD, filters, tags, roles."""

from __future__ import annotations

import hashlib

import pytest
from django.conf import settings

from secrets_app.models import SecretIndex
from tests.helpers import assert_problem, check_access
from tests.schema_check import assert_conforms

pytestmark = pytest.mark.django_db


def secrets_url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/secrets"


def create(client, org_id, name, type="generic", values=None, tags=None):
    body = {"name": name, "type": type, "values": values or {"k": "v"}, "tags": tags or []}
    return client.post(secrets_url(org_id), body, format="json")


def test_create_answers_id_as_sha256_of_name_and_stores_document_in_vault(vault, personas, clients):
    response = create(
        clients["member"],
        personas.org.pk,
        "localhost-pw",
        "password",
        {"username": "app"},
        ["repo:pipeline"],
    )
    assert response.status_code == 201, response.content
    body = response.json()
    secret_id = hashlib.sha256(b"localhost-pw").hexdigest()
    assert body["id"] == secret_id
    assert body["name"] == "localhost-pw" and body["type"] == "password"
    assert body["version"] == 1 and body["updatedBy"] == "mike"
    assert body["tags"] == ["repo:pipeline"]
    generated = body["generated"]["password"]
    assert len(generated) >= 16 and generated.isalnum()
    stored = vault.root.secrets.kv.v2.read_secret_version(
        path=f"orgs/{personas.org.pk}/{secret_id}",
        mount_point=settings.VAULT_MOUNT,
        raise_on_deleted_version=True,
    )["data"]["data"]
    assert stored == {
        "name": "localhost-pw",
        "type": "password",
        "values": {"username": "app", "password": generated},
        "tags": ["repo:pipeline"],
        "updatedBy": "mike",
    }
    row = SecretIndex.objects.get(secret_id=secret_id)
    assert generated not in repr(row.__dict__)


def test_get_returns_values_to_member_and_metadata_only_to_viewer(vault, personas, clients):
    body = create(
        clients["admin"], personas.org.pk, "db", values={"user": "u", "pass": "p4"}
    ).json()
    url = f"{secrets_url(personas.org.pk)}/{body['id']}"
    for persona in ("admin", "member"):
        got = clients[persona].get(url)
        assert got.status_code == 200
        assert got.json()["values"] == {"user": "u", "pass": "p4"}
    viewer = clients["viewer"].get(url)
    assert viewer.status_code == 200
    # A viewer sees which values there are, each masked as the original product shows them.
    assert viewer.json()["values"] == {"user": "<hidden>", "pass": "<hidden>"}
    assert viewer.json()["name"] == "db"
    assert_problem(clients["viewer"].get(url + "?values=true"), 403)
    assert_problem(clients["outsider"].get(url), 404)
    assert_problem(clients["anonymous"].get(url), 401)


def test_list_filters_by_type_and_all_tags(vault, personas, clients):
    org = personas.org.pk
    create(clients["member"], org, "a", tags=["repo:pipeline", "env:prod"])
    create(clients["member"], org, "b", tags=["repo:pipeline"])
    create(
        clients["member"], org, "c", "password", {"username": "x"}, ["repo:pipeline", "env:prod"]
    )
    create(clients["outsider"], personas.other_org.pk, "a", tags=["repo:pipeline"])

    def names(query: str) -> list[str]:
        response = clients["viewer"].get(secrets_url(org) + query)
        assert response.status_code == 200
        return [s["name"] for s in response.json()]

    assert names("") == ["a", "b", "c"]
    assert names("?type=password") == ["c"]
    assert names("?tags=repo:pipeline&tags=env:prod") == ["a", "c"]
    assert names("?tag=env:prod&type=generic") == ["a"]
    assert names("?tags=nothing") == []
    listed = clients["viewer"].get(secrets_url(org)).json()
    assert [s["values"] for s in listed] == [
        {"k": "<hidden>"},
        {"k": "<hidden>"},
        {"username": "<hidden>", "password": "<hidden>"},
    ]


def test_list_with_values_needs_member(vault, personas, clients):
    create(clients["member"], personas.org.pk, "a", values={"k": "secret-v"})
    url = secrets_url(personas.org.pk) + "?values=true"
    assert clients["member"].get(url).json()[0]["values"] == {"k": "secret-v"}
    assert_problem(clients["viewer"].get(url), 403)


def test_create_roles(vault, personas, clients):
    check_access(
        clients,
        "post",
        secrets_url(personas.org.pk),
        allowed=("admin", "member"),
        ok=201,
        make_body=lambda p: {"name": f"s-{p}", "type": "generic", "values": {"a": "b"}},
    )
    assert sorted(SecretIndex.objects.for_org(personas.org).values_list("name", flat=True)) == [
        "s-admin",
        "s-member",
    ]


def test_list_roles(vault, personas, clients):
    check_access(
        clients, "get", secrets_url(personas.org.pk), allowed=("admin", "member", "viewer"), ok=200
    )


def test_update_replaces_values_and_tags_and_bumps_version(vault, personas, clients):
    created = create(
        clients["member"], personas.org.pk, "app", values={"a": "1"}, tags=["x"]
    ).json()
    url = f"{secrets_url(personas.org.pk)}/{created['id']}"
    response = clients["member"].put(url, {"values": {"b": "2"}, "tags": ["y"]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2 and response.json()["tags"] == ["y"]
    assert clients["member"].get(url).json()["values"] == {"b": "2"}
    assert [
        s["name"] for s in clients["member"].get(secrets_url(personas.org.pk) + "?tags=x").json()
    ] == []


def test_update_and_delete_roles(vault, personas, clients):
    created = create(clients["admin"], personas.org.pk, "app").json()
    url = f"{secrets_url(personas.org.pk)}/{created['id']}"
    check_access(
        clients, "put", url, allowed=("admin", "member"), ok=200, body={"values": {"k": "v2"}}
    )
    check_access(clients, "get", url, allowed=("admin", "member", "viewer"), ok=200)
    responses = {}
    for persona in ("anonymous", "outsider", "viewer"):
        responses[persona] = clients[persona].delete(url)
    assert responses["anonymous"].status_code == 401
    assert responses["outsider"].status_code == 404
    assert responses["viewer"].status_code == 403
    assert clients["member"].delete(url).status_code == 204
    assert_problem(clients["member"].get(url), 404)
    assert not SecretIndex.objects.filter(secret_id=created["id"]).exists()
    with pytest.raises(Exception):
        vault.root.secrets.kv.v2.read_secret_version(
            path=f"orgs/{personas.org.pk}/{created['id']}",
            mount_point=settings.VAULT_MOUNT,
            raise_on_deleted_version=True,
        )
    second = create(clients["admin"], personas.org.pk, "app2").json()
    assert (
        clients["admin"].delete(f"{secrets_url(personas.org.pk)}/{second['id']}").status_code == 204
    )


def test_delete_removes_every_version(vault, personas, clients):
    created = create(clients["member"], personas.org.pk, "multi").json()
    url = f"{secrets_url(personas.org.pk)}/{created['id']}"
    clients["member"].put(url, {"values": {"k": "2"}}, format="json")
    assert clients["member"].delete(url).status_code == 204
    again = create(clients["member"], personas.org.pk, "multi")
    assert again.status_code == 201 and again.json()["version"] == 1


def test_tags_add_list_remove_with_colons_and_slashes(vault, personas, clients):
    created = create(clients["member"], personas.org.pk, "tagged", tags=["a"]).json()
    base = f"{secrets_url(personas.org.pk)}/{created['id']}/tags"
    response = clients["member"].put(f"{base}/repo:org/name")
    assert response.status_code == 200, response.content
    assert response.json() == ["a", "repo:org/name"]
    assert clients["viewer"].get(base).json() == ["a", "repo:org/name"]
    found = clients["viewer"].get(secrets_url(personas.org.pk) + "?tag=repo:org/name").json()
    assert [s["name"] for s in found] == ["tagged"]
    assert clients["member"].delete(f"{base}/repo:org/name").status_code == 204
    assert clients["viewer"].get(base).json() == ["a"]
    assert_problem(clients["member"].delete(f"{base}/missing"), 404)


def test_tag_endpoint_roles(vault, personas, clients):
    created = create(clients["admin"], personas.org.pk, "t").json()
    base = f"{secrets_url(personas.org.pk)}/{created['id']}/tags"
    check_access(clients, "get", base, allowed=("admin", "member", "viewer"), ok=200)
    check_access(clients, "put", f"{base}/env:prod", allowed=("admin", "member"), ok=200)
    assert clients["viewer"].delete(f"{base}/env:prod").status_code == 403
    assert clients["outsider"].delete(f"{base}/env:prod").status_code == 404
    assert clients["anonymous"].delete(f"{base}/env:prod").status_code == 401
    assert clients["member"].delete(f"{base}/env:prod").status_code == 204


def test_another_orgs_secret_is_404_even_by_its_id(vault, personas, clients):
    created = create(clients["outsider"], personas.other_org.pk, "theirs").json()
    for path in ("", "/tags"):
        url = f"{secrets_url(personas.org.pk)}/{created['id']}{path}"
        body = assert_problem(clients["admin"].get(url), 404)
        assert "theirs" not in str(body)
    assert_problem(
        clients["admin"].get(f"{secrets_url(personas.other_org.pk)}/{created['id']}"), 404
    )


def test_secret_types_listed_and_described(vault, personas, clients):
    response = clients["viewer"].get("/api/v1/secret-types")
    assert response.status_code == 200
    # The original's shape: an object keyed by type name.
    types = response.json()
    assert isinstance(types, dict) and all(t["name"] == name for name, t in types.items())
    assert {"generic", "password", "htpasswd"} <= set(types)
    password = {f["name"]: f for f in types["password"]["fields"]}
    assert password["username"]["required"] and password["password"]["generatable"]
    assert types["htpasswd"]["sourcing"] == "volume"
    one = clients["outsider"].get("/api/v1/secret-types/htpasswd")
    assert one.status_code == 200 and one.json() == types["htpasswd"]
    missing = assert_problem(clients["viewer"].get("/api/v1/secret-types/nope"), 404)
    assert "password" in missing["detail"]
    assert_problem(clients["anonymous"].get("/api/v1/secret-types"), 401)


def test_validate_endpoint_roles_and_result(vault, personas, clients):
    created = create(clients["admin"], personas.org.pk, "checked", "password", {"username": "u"})
    url = f"{secrets_url(personas.org.pk)}/{created.json()['id']}/validate"
    responses = check_access(
        clients, "get", url + "?validate=false", allowed=("admin", "member"), ok=200
    )
    assert responses["member"].json() == {
        "id": created.json()["id"],
        "valid": True,
        "remoteChecked": False,
    }


def test_validate_reports_a_stored_secret_that_no_longer_validates(vault, personas, clients):
    from secrets_app import vault as vault_module

    created = create(clients["member"], personas.org.pk, "web", "htpasswd", {"username": "web"})
    secret_id = created.json()["id"]
    path = f"orgs/{personas.org.pk}/{secret_id}"
    document = vault_module.read(path)
    assert document is not None
    broken = {**document.data, "values": {"username": "web", "htpasswd": "web:plain"}}
    vault_module.write(path, broken, cas=document.version)
    response = clients["member"].get(f"{secrets_url(personas.org.pk)}/{secret_id}/validate")
    assert_problem(response, 400, field="values.htpasswd")


def test_versions_are_listed_and_an_earlier_one_can_be_read(vault, personas, clients):
    org = personas.org.pk
    created = create(clients["member"], org, "rotating", values={"k": "first"}, tags=["t1"]).json()
    url = f"{secrets_url(org)}/{created['id']}"
    clients["admin"].put(url, {"values": {"k": "second"}, "tags": ["t2"]}, format="json")
    clients["member"].put(url, {"values": {"k": "third"}, "tags": ["t3"]}, format="json")
    responses = check_access(
        clients, "get", f"{url}/versions", allowed=("admin", "member", "viewer"), ok=200
    )
    listed = responses["viewer"].json()
    assert [(v["version"], v["current"], v["deleted"]) for v in listed] == [
        (3, True, False),
        (2, False, False),
        (1, False, False),
    ]
    first = clients["member"].get(f"{url}?version=1").json()
    assert first["values"] == {"k": "first"} and first["version"] == 1
    assert first["tags"] == ["t1"] and first["updatedBy"] == "mike"
    assert clients["member"].get(url).json()["values"] == {"k": "third"}
    assert_problem(clients["viewer"].get(f"{url}?version=1"), 403)
    assert_problem(clients["outsider"].get(f"{url}?version=1"), 404)
    assert_problem(clients["member"].get(f"{url}?version=9"), 404)
    assert_problem(clients["member"].get(f"{url}?version=zero"), 400, field="version")
    assert_conforms(clients["member"].get(f"{url}?version=2"), "get", url)
    assert_conforms(responses["viewer"], "get", f"{url}/versions")
