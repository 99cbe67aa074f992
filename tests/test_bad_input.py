"""Bad input gets a clear error, the right status, and leaves nothing half-written."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings

from secrets_app.models import SecretIndex, SecretTag
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

SECRET_VALUE = "s3cr3t-value-that-must-never-leak"


def url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/secrets"


def nothing_written(vault, org_id: int) -> None:
    assert not SecretIndex.objects.exists()
    assert not SecretTag.objects.exists()
    try:
        keys = vault.root.secrets.kv.v2.list_secrets(
            path=f"orgs/{org_id}", mount_point=settings.VAULT_MOUNT
        )["data"]["keys"]
    except Exception as exc:  # InvalidPath: nothing under the org
        assert "InvalidPath" in type(exc).__name__
        keys = []
    assert keys == []


@pytest.fixture
def post(personas, clients):
    def _post(body, **extra):
        return clients["member"].post(url(personas.org.pk), body, format="json", **extra)

    return _post


def test_malformed_json_is_400(vault, personas, clients):
    response = clients["member"].post(
        url(personas.org.pk), data='{"name": "x", ', content_type="application/json"
    )
    body = assert_problem(response, 400)
    assert "JSON" in body["detail"]
    nothing_written(vault, personas.org.pk)


def test_body_over_one_mebibyte_is_413(vault, personas, post):
    response = post({"name": "big", "type": "generic", "values": {"k": "x" * (1024 * 1024)}})
    assert_problem(response, 413)
    nothing_written(vault, personas.org.pk)


def test_unknown_type_lists_the_known_ones(vault, personas, post):
    body = assert_problem(post({"name": "x", "type": "nope", "values": {}}), 400, field="type")
    for known in ("generic", "password", "htpasswd"):
        assert known in body["errors"]["type"][0]
    nothing_written(vault, personas.org.pk)


def test_missing_required_field_is_named(vault, personas, post):
    body = assert_problem(
        post({"name": "x", "type": "password", "values": {"password": SECRET_VALUE}}),
        400,
        field="values.username",
    )
    assert SECRET_VALUE not in str(body)
    assert_problem(post({"type": "generic"}), 400, field="name")
    assert_problem(post({"name": "x"}), 400, field="type")
    nothing_written(vault, personas.org.pk)


@pytest.mark.parametrize(
    "name", ["Upper", "under_score", "-lead", "trail-", "a" * 254, "sp ace", ""]
)
def test_name_must_be_a_dns1123_subdomain(vault, personas, post, name):
    assert_problem(post({"name": name, "type": "generic", "values": {}}), 400, field="name")
    nothing_written(vault, personas.org.pk)


@pytest.mark.parametrize("tag", ["", "has space", ":lead", "x" * 129, "tab\t"])
def test_bad_tag_is_400(vault, personas, post, tag):
    response = post({"name": "ok", "type": "generic", "values": {}, "tags": [tag]})
    assert_problem(response, 400, field="tags")
    nothing_written(vault, personas.org.pk)


def test_values_must_be_strings_and_keys_valid(vault, personas, post):
    assert_problem(
        post({"name": "a", "type": "generic", "values": {"k": 1}}), 400, field="values.k"
    )
    assert_problem(
        post({"name": "a", "type": "generic", "values": {"bad key": "v"}}),
        400,
        field="values.bad key",
    )
    assert_problem(
        post({"name": "a", "type": "password", "values": {"username": "u", "extra": "v"}}),
        400,
        field="values.extra",
    )
    nothing_written(vault, personas.org.pk)


def test_unknown_org_is_404_like_another_org(vault, personas, clients):
    unknown = assert_problem(clients["member"].get(url(999999)), 404)
    foreign = assert_problem(clients["member"].get(url(personas.other_org.pk)), 404)
    assert unknown["detail"] == foreign["detail"]
    assert_problem(clients["member"].get("/api/v1/orgs/abc/secrets"), 404)


def test_viewer_cannot_write(vault, personas, clients):
    response = clients["viewer"].post(
        url(personas.org.pk), {"name": "x", "type": "generic", "values": {}}, format="json"
    )
    body = assert_problem(response, 403)
    assert "member" in body["detail"]
    nothing_written(vault, personas.org.pk)


def test_duplicate_name_is_409_and_keeps_the_original(vault, personas, post, clients):
    first = post({"name": "dup", "type": "generic", "values": {"k": "original"}})
    assert first.status_code == 201
    assert_problem(post({"name": "dup", "type": "generic", "values": {"k": "other"}}), 409)
    got = clients["member"].get(f"{url(personas.org.pk)}/{first.json()['id']}").json()
    assert got["values"] == {"k": "original"} and got["version"] == 1


def test_duplicate_in_vault_but_not_in_index_is_still_409(vault, personas, post):
    first = post({"name": "dup", "type": "generic", "values": {"k": "original"}})
    SecretIndex.objects.all().delete()
    assert_problem(post({"name": "dup", "type": "generic", "values": {"k": "other"}}), 409)
    document = vault.root.secrets.kv.v2.read_secret_version(
        path=f"orgs/{personas.org.pk}/{first.json()['id']}",
        mount_point=settings.VAULT_MOUNT,
        raise_on_deleted_version=True,
    )
    assert document["data"]["data"]["values"] == {"k": "original"}


def test_stale_update_is_409_and_changes_nothing(vault, personas, post, clients):
    created = post({"name": "s", "type": "generic", "values": {"k": "1"}}).json()
    secret_url = f"{url(personas.org.pk)}/{created['id']}"
    assert (
        clients["admin"]
        .put(secret_url, {"values": {"k": "2"}, "version": 1}, format="json")
        .status_code
        == 200
    )
    stale = clients["member"].put(secret_url, {"values": {"k": "3"}, "version": 1}, format="json")
    assert_problem(stale, 409)
    got = clients["member"].get(secret_url).json()
    assert got["values"] == {"k": "2"} and got["version"] == 2
    assert SecretIndex.objects.get(secret_id=created["id"]).version == 2


def test_concurrent_writer_loses_with_409(vault, personas, post, clients, monkeypatch):
    """A write that lands between our read and our write makes ours fail, never overwrite."""
    from secrets_app import vault as vault_module
    from secrets_app import writes

    created = post({"name": "race", "type": "generic", "values": {"k": "1"}}).json()
    path = f"orgs/{personas.org.pk}/{created['id']}"
    real_read = writes.read_current

    def read_then_someone_writes(row):
        current = real_read(row)
        vault_module.write(path, {**current.data, "values": {"k": "theirs"}}, cas=current.version)
        return current

    monkeypatch.setattr(writes, "read_current", read_then_someone_writes)
    secret_url = f"{url(personas.org.pk)}/{created['id']}"
    response = clients["member"].put(secret_url, {"values": {"k": "mine"}}, format="json")
    assert_problem(response, 409)
    monkeypatch.undo()
    assert clients["member"].get(secret_url).json()["values"] == {"k": "theirs"}


def test_name_and_type_are_immutable(vault, personas, post, clients):
    created = post({"name": "fixed", "type": "generic", "values": {"k": "1"}}).json()
    secret_url = f"{url(personas.org.pk)}/{created['id']}"
    assert_problem(
        clients["member"].put(secret_url, {"name": "other", "values": {}}, format="json"),
        400,
        field="name",
    )
    assert_problem(
        clients["member"].put(secret_url, {"type": "password", "values": {}}, format="json"),
        400,
        field="type",
    )
    assert clients["member"].get(secret_url).json()["values"] == {"k": "1"}


def test_no_secret_value_in_errors_or_logs(vault, personas, post, clients, caplog):
    caplog.set_level(logging.DEBUG)
    created = post(
        {"name": "quiet", "type": "password", "values": {"username": "u", "password": SECRET_VALUE}}
    )
    assert created.status_code == 201
    answers = [
        post(
            {
                "name": "quiet",
                "type": "password",
                "values": {"username": "u", "password": SECRET_VALUE},
            }
        ),
        post(
            {
                "name": "Loud",
                "type": "password",
                "values": {"username": "u", "password": SECRET_VALUE},
            }
        ),
        post({"name": "x", "type": "password", "values": {"password": SECRET_VALUE}}),
        post(
            {
                "name": "x",
                "type": "password",
                "values": {"username": "u", "password": SECRET_VALUE, "zz": SECRET_VALUE},
            }
        ),
        post(
            {
                "name": "x",
                "type": "htpasswd",
                "values": {"username": "u:", "password": SECRET_VALUE},
            }
        ),
        clients["member"].put(
            f"{url(personas.org.pk)}/{created.json()['id']}",
            {"values": {"username": "u", "password": SECRET_VALUE}, "version": 9},
            format="json",
        ),
    ]
    for answer in answers:
        assert answer.status_code >= 400
        assert SECRET_VALUE not in answer.content.decode()
    assert SECRET_VALUE not in caplog.text
    assert SECRET_VALUE not in str(list(SecretIndex.objects.values()))
