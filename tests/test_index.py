"""The metadata index mirrors Vault, is repaired after a failed write, and can be rebuilt."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from secrets_app import index
from secrets_app.models import SecretIndex, SecretTag
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/secrets"


def create(client, org_id, name, tags=()):
    response = client.post(
        url(org_id),
        {"name": name, "type": "generic", "values": {"k": name}, "tags": list(tags)},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def vault_doc(vault, org_id, secret_id):
    return vault.root.secrets.kv.v2.read_secret_version(
        path=f"orgs/{org_id}/{secret_id}",
        mount_point=settings.VAULT_MOUNT,
        raise_on_deleted_version=True,
    )


def test_rebuild_restores_rows_and_tags_and_drops_stale_ones(vault, personas, clients):
    org = personas.org
    a = create(clients["member"], org.pk, "a", ["repo:x", "env:prod"])
    create(clients["member"], org.pk, "b", ["repo:x"])
    create(clients["outsider"], personas.other_org.pk, "c")
    clients["member"].put(
        f"{url(org.pk)}/{a['id']}",
        {"values": {"k": "2"}, "tags": ["repo:x", "env:prod"]},
        format="json",
    )
    before = {
        r.secret_id: (r.name, r.type, r.tags, r.version, r.updated_by)
        for r in SecretIndex.objects.all()
    }
    SecretIndex.objects.all().delete()
    stale = SecretIndex.objects.create(
        organization=org,
        secret_id="0" * 64,
        name="ghost",
        type="generic",
        version=1,
        updated_at=timezone.now(),
    )
    out = io.StringIO()
    call_command("rebuild_secret_index", stdout=out)
    assert "indexed 3" in out.getvalue() and "removed 1" in out.getvalue()
    after = {
        r.secret_id: (r.name, r.type, r.tags, r.version, r.updated_by)
        for r in SecretIndex.objects.all()
    }
    assert after == before
    assert not SecretIndex.objects.filter(pk=stale.pk).exists()
    found = clients["viewer"].get(url(org.pk) + "?tags=repo:x&tags=env:prod").json()
    assert [s["name"] for s in found] == ["a"]
    assert SecretTag.objects.filter(organization=org).count() == 3


def test_failed_index_write_on_create_is_undone_in_vault(vault, personas, clients, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(index, "index_upsert", broken)
    client = clients["member"]
    client.raise_request_exception = False
    response = client.post(
        url(personas.org.pk),
        {"name": "half", "type": "generic", "values": {"k": "v"}},
        format="json",
    )
    assert_problem(response, 500)
    monkeypatch.undo()
    assert not SecretIndex.objects.exists()
    import hashlib

    import hvac

    with pytest.raises(hvac.exceptions.InvalidPath):
        vault_doc(vault, personas.org.pk, hashlib.sha256(b"half").hexdigest())
    assert create(client, personas.org.pk, "half")["version"] == 1


def test_failed_index_write_on_update_is_caught_up_from_vault(
    vault, personas, clients, monkeypatch
):
    created = create(clients["member"], personas.org.pk, "upd", ["old"])
    real = index.index_upsert
    calls = {"n": 0}

    def fails_once(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database hiccup")
        return real(**kwargs)

    monkeypatch.setattr(index, "index_upsert", fails_once)
    client = clients["member"]
    client.raise_request_exception = False
    secret_url = f"{url(personas.org.pk)}/{created['id']}"
    response = client.put(secret_url, {"values": {"k": "new"}, "tags": ["new"]}, format="json")
    assert_problem(response, 500)
    row = SecretIndex.objects.get(secret_id=created["id"])
    assert (row.version, row.tags) == (2, ["new"])
    assert vault_doc(vault, personas.org.pk, created["id"])["data"]["metadata"]["version"] == 2


def test_get_catches_the_index_up_when_vault_moved_on(vault, personas, clients):
    created = create(clients["member"], personas.org.pk, "drift", ["t1"])
    from secrets_app import vault as vault_module

    path = f"orgs/{personas.org.pk}/{created['id']}"
    document = vault_module.read(path)
    assert document is not None
    vault_module.write(path, {**document.data, "tags": ["t2"]}, cas=document.version)
    got = clients["member"].get(f"{url(personas.org.pk)}/{created['id']}").json()
    assert got["version"] == 2 and got["tags"] == ["t2"]
    assert SecretIndex.objects.get(secret_id=created["id"]).tags == ["t2"]


def test_rebuild_indexes_tls_expiry_even_for_an_expired_chain(vault, personas, clients):
    from datetime import UTC, datetime, timedelta

    from secrets_app import vault as vault_module
    from secrets_app.types import Context, get_type

    long_ago = Context(now=datetime.now(UTC) - timedelta(days=400))
    prepared = get_type("tls").clean({"hosts": "localhost", "validity": "24h"}, long_ago)
    assert prepared.expires_at is not None and prepared.expires_at < datetime.now(UTC)
    secret_id = "e" * 64
    document = {
        "name": "old-tls",
        "type": "tls",
        "values": prepared.values,
        "tags": [],
        "updatedBy": "someone",
    }
    vault_module.write(f"orgs/{personas.org.pk}/{secret_id}", document, cas=0)
    call_command("rebuild_secret_index", stdout=io.StringIO())
    row = SecretIndex.objects.get(secret_id=secret_id)
    assert row.expires_at == prepared.expires_at and row.type == "tls"


def test_a_stale_index_row_does_not_block_creating_the_name(vault, personas, clients):
    created = create(clients["member"], personas.org.pk, "reborn")
    vault.root.secrets.kv.v2.delete_metadata_and_all_versions(
        path=f"orgs/{personas.org.pk}/{created['id']}", mount_point=settings.VAULT_MOUNT
    )
    again = create(clients["member"], personas.org.pk, "reborn")
    assert again["version"] == 1
    assert SecretIndex.objects.filter(secret_id=created["id"]).count() == 1
