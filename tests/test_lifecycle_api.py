"""The lifecycle API against the real OpenBao: rollback, destroying versions, rotating now,
rotation schedules, the type table's ``rotatable`` and ``expiresBefore`` on the list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from secrets_app import lifecycle
from secrets_app.models import SecretLifecycle
from secrets_app.types import REGISTRY
from tests.helpers import assert_problem, check_access

pytestmark = pytest.mark.django_db


def url(org_id: int, suffix: str = "") -> str:
    return f"/api/v1/orgs/{org_id}/secrets{suffix}"


def create(client, org_id, name, type="generic", values=None, tags=None, **extra):
    body = {"name": name, "type": type, "values": values or {}, "tags": tags or [], **extra}
    response = client.post(url(org_id), body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def update(client, org_id, secret_id, values, tags=(), **extra):
    body = {"values": values, "tags": list(tags), **extra}
    response = client.put(url(org_id, f"/{secret_id}"), body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def read(client, org_id, secret_id, version=None):
    suffix = f"/{secret_id}" + (f"?version={version}" if version else "")
    response = client.get(url(org_id, suffix))
    assert response.status_code == 200, response.content
    return response.json()


def three_versions(clients, org):
    """A generic secret at version 3: v1 {k: one} [a], v2 {k: two} [b], v3 {k: three} [b]."""
    created = create(clients["member"], org, "app-config", values={"k": "one"}, tags=["a"])
    update(clients["member"], org, created["id"], {"k": "two"}, ["b"])
    update(clients["member"], org, created["id"], {"k": "three"}, ["b"])
    return created["id"]


# --------------------------------------------------------------------------- rollback


def test_rollback_writes_the_old_values_and_tags_as_a_new_version(vault, personas, clients):
    org = personas.org.pk
    secret_id = three_versions(clients, org)
    response = clients["member"].post(
        url(org, f"/{secret_id}/rollback"), {"version": 1}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 4 and body["tags"] == ["a"] and body["updatedBy"] == "mike"
    now = read(clients["member"], org, secret_id)
    old = read(clients["member"], org, secret_id, version=1)
    assert now["values"] == old["values"] == {"k": "one"}
    assert now["tags"] == old["tags"] == ["a"]
    versions = clients["viewer"].get(url(org, f"/{secret_id}/versions")).json()
    assert [v["version"] for v in versions] == [4, 3, 2, 1]
    event = AuditEvent.objects.get(action="secret.rollback")
    assert event.actor == "mike" and event.detail == {"version": 4, "source": 1}


def test_rollback_refuses_bad_versions_with_field_errors_and_writes_nothing(
    vault, personas, clients
):
    org = personas.org.pk
    secret_id = three_versions(clients, org)
    rollback = url(org, f"/{secret_id}/rollback")
    for body in ({}, {"version": 0}, {"version": "x"}, {"version": 3}, {"version": 99}):
        assert_problem(clients["member"].post(rollback, body, format="json"), 400, field="version")
    stale = clients["member"].post(rollback, {"version": 1, "expectedVersion": 2}, format="json")
    assert_problem(stale, 409)
    assert read(clients["member"], org, secret_id)["version"] == 3


def test_read_only_secret_cannot_be_rolled_back_rotated_or_have_versions_destroyed(
    vault, personas, clients
):
    org = personas.org.pk
    created = create(
        clients["member"], org, "frozen", "password", {"username": "u"}, ["banzai:readonly"]
    )
    secret_id = created["id"]
    assert_problem(
        clients["member"].post(url(org, f"/{secret_id}/rollback"), {"version": 1}, format="json"),
        409,
    )
    assert_problem(clients["member"].post(url(org, f"/{secret_id}/rotate")), 409)
    assert_problem(clients["admin"].delete(url(org, f"/{secret_id}/versions/1")), 409)


def test_rollback_by_role(vault, personas, clients):
    org = personas.org.pk
    secret_id = three_versions(clients, org)
    check_access(
        clients,
        "post",
        url(org, f"/{secret_id}/rollback"),
        allowed=("admin", "member"),
        ok=200,
        body={"version": 1},
    )


# --------------------------------------------------------------------------- destroy


def test_admin_destroys_an_old_version_for_good(vault, personas, clients):
    org = personas.org.pk
    secret_id = three_versions(clients, org)
    check_access(
        clients,
        "delete",
        url(org, f"/{secret_id}/versions/1"),
        allowed=("admin",),
        ok=204,
    )
    versions = {
        v["version"]: v for v in clients["viewer"].get(url(org, f"/{secret_id}/versions")).json()
    }
    assert versions[1]["deleted"] is True and versions[2]["deleted"] is False
    assert_problem(clients["member"].get(url(org, f"/{secret_id}?version=1")), 404)
    assert_problem(
        clients["member"].post(url(org, f"/{secret_id}/rollback"), {"version": 1}, format="json"),
        400,
        field="version",
    )
    assert_problem(clients["admin"].delete(url(org, f"/{secret_id}/versions/3")), 409)
    assert_problem(clients["admin"].delete(url(org, f"/{secret_id}/versions/9")), 404)
    event = AuditEvent.objects.get(action="secret.version.destroy")
    assert event.actor == "alice" and event.detail == {"version": 1}


# --------------------------------------------------------------------------- rotation


def test_rotate_now_makes_a_fresh_password_of_the_same_shape(vault, personas, clients):
    org = personas.org.pk
    created = create(
        clients["member"], org, "db", "password", {"username": "root", "password": "randNumeric,12"}
    )
    before = created["generated"]["password"]
    response = clients["member"].post(url(org, f"/{created['id']}/rotate"))
    assert response.status_code == 200, response.content
    body = response.json()
    after = body["generated"]["password"]
    assert body["version"] == 2 and after != before
    assert len(after) == 12 and after.isdigit()
    assert read(clients["member"], org, created["id"])["values"] == {
        "username": "root",
        "password": after,
    }
    event = AuditEvent.objects.get(action="secret.rotate")
    assert event.actor == "mike"
    assert event.detail == {"version": 2, "fields": ["password"], "purpose": "manual"}
    assert after not in str(event.detail)


def test_rotate_by_role_and_refused_for_types_that_cannot(vault, personas, clients):
    org = personas.org.pk
    created = create(clients["member"], org, "db", "password", {"username": "root"})
    check_access(
        clients, "post", url(org, f"/{created['id']}/rotate"), allowed=("admin", "member"), ok=200
    )
    generic = create(clients["member"], org, "cfg", values={"k": "v"})
    assert_problem(clients["member"].post(url(org, f"/{generic['id']}/rotate")), 400, field="type")


def test_type_table_says_which_types_rotate(vault, personas, clients):
    table = clients["viewer"].get("/api/v1/secret-types").json()
    rotatable = {name for name, t in table.items() if t["rotatable"]}
    assert rotatable == {"password", "htpasswd", "ssh", "tls", "pkecert"}
    for name in ("generic", "amazon", "google", "azure"):
        assert table[name]["rotatable"] is False
    assert set(table) == set(REGISTRY)


def test_rotation_schedule_is_set_on_create_changed_and_removed_on_update(vault, personas, clients):
    org = personas.org.pk
    before = timezone.now()
    created = create(
        clients["member"], org, "db", "password", {"username": "u"}, rotation={"every": "30d"}
    )
    rotation = created["rotation"]
    assert rotation["every"] == "30d" and rotation["lastRotatedAt"] is None
    next_at = datetime.fromisoformat(rotation["nextRotationAt"].replace("Z", "+00:00"))
    assert before + timedelta(days=30) <= next_at <= timezone.now() + timedelta(days=30)
    # Left out: kept; given: changed; null: removed.
    kept = update(clients["member"], org, created["id"], {"username": "u", "password": "p1"})
    assert kept["rotation"]["every"] == "30d"
    changed = update(
        clients["member"], org, created["id"], {"username": "u"}, rotation={"every": "1d12h"}
    )
    assert changed["rotation"]["every"] == "1d12h"
    listed = clients["viewer"].get(url(org)).json()
    assert listed[0]["rotation"]["every"] == "1d12h"
    removed = update(clients["member"], org, created["id"], {"username": "u"}, rotation=None)
    assert removed["rotation"] is None
    assert read(clients["viewer"], org, created["id"])["rotation"] is None
    updates = AuditEvent.objects.filter(action="secret.update").order_by("id")
    assert [e.detail.get("every", "-") for e in updates] == ["-", "1d12h", None]


@pytest.mark.parametrize(
    ("type_name", "values", "rotation", "field"),
    [
        ("password", {"username": "u"}, {"every": "5m"}, "rotation.every"),
        ("password", {"username": "u"}, {"every": "monthly"}, "rotation.every"),
        ("password", {"username": "u"}, {"every": 30}, "rotation.every"),
        ("password", {"username": "u"}, {"each": "30d"}, "rotation"),
        ("password", {"username": "u"}, "30d", "rotation"),
        ("generic", {"k": "v"}, {"every": "30d"}, "rotation"),
    ],
)
def test_bad_rotation_is_a_field_error_and_nothing_is_written(
    vault, personas, clients, type_name, values, rotation, field
):
    org = personas.org.pk
    body = {"name": "x", "type": type_name, "values": values, "rotation": rotation}
    assert_problem(clients["member"].post(url(org), body, format="json"), 400, field=field)
    assert clients["member"].get(url(org)).json() == []


def test_scheduled_rotation_runs_when_due_as_system(vault, personas, clients):
    org = personas.org.pk
    created = create(
        clients["member"], org, "db", "password", {"username": "u"}, rotation={"every": "1h"}
    )
    item = SecretLifecycle.objects.get()
    due = item.next_rotation_at
    assert due is not None
    assert lifecycle.run_rotations(due - timedelta(seconds=1)) == {"rotated": 0, "failed": 0}
    assert lifecycle.run_rotations(due) == {"rotated": 1, "failed": 0}
    assert lifecycle.run_rotations(due) == {"rotated": 0, "failed": 0}
    body = read(clients["member"], org, created["id"])
    assert body["version"] == 2 and body["updatedBy"] == "system"
    assert body["values"]["password"] != created["generated"]["password"]
    assert body["rotation"]["lastRotatedBy"] == "system"
    item.refresh_from_db()
    assert item.next_rotation_at == due + timedelta(hours=1) and item.claimed_until is None
    event = AuditEvent.objects.get(action="secret.rotate")
    assert event.actor == "system" and event.detail["purpose"] == "schedule"


def test_a_failed_scheduled_rotation_is_recorded_and_retried_later(vault, personas, clients):
    org = personas.org.pk
    create(
        clients["member"],
        org,
        "frozen",
        "password",
        {"username": "u"},
        ["banzai:readonly"],
        rotation={"every": "2h"},
    )
    item = SecretLifecycle.objects.get()
    due = item.next_rotation_at
    assert due is not None
    assert lifecycle.run_rotations(due) == {"rotated": 0, "failed": 1}
    item.refresh_from_db()
    assert "read-only" in item.last_error and item.claimed_until is None
    assert item.last_error_at == due and item.next_rotation_at == due + timedelta(hours=1)
    assert lifecycle.run_rotations(due + timedelta(minutes=59)) == {"rotated": 0, "failed": 0}
    assert not AuditEvent.objects.filter(action="secret.rotate").exists()


def test_a_secret_gone_from_vault_fails_its_rotation_and_leaves_the_index(vault, personas, clients):
    org = personas.org.pk
    created = create(
        clients["member"], org, "db", "password", {"username": "u"}, rotation={"every": "2h"}
    )
    due = SecretLifecycle.objects.get().next_rotation_at
    vault.root.secrets.kv.v2.delete_metadata_and_all_versions(
        path=f"orgs/{org}/{created['id']}", mount_point="secret"
    )
    assert lifecycle.run_rotations(due) == {"rotated": 0, "failed": 1}
    assert not SecretLifecycle.objects.exists()
    assert clients["viewer"].get(url(org)).json() == []


# --------------------------------------------------------------------------- expiresBefore


def test_expires_before_filters_the_list(vault, personas, clients):
    org = personas.org.pk
    create(clients["member"], org, "short-tls", "tls", {"hosts": "localhost", "validity": "48h"})
    create(clients["member"], org, "long-tls", "tls", {"hosts": "localhost", "validity": "2400h"})
    create(clients["member"], org, "pw", "password", {"username": "u"})

    def names(query: str) -> list[str]:
        response = clients["viewer"].get(url(org) + query)
        assert response.status_code == 200, response.content
        return [s["name"] for s in response.json()]

    assert names("?expiresBefore=3d") == ["short-tls"]
    assert names("?expiresBefore=1d") == []
    assert names("?expiresBefore=200d") == ["long-tls", "short-tls"]
    later = (datetime.now(UTC) + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert names(f"?expiresBefore={later}") == ["short-tls"]
    assert names("?expiresBefore=3d&type=password") == []
    for bad in ("soon", "2030-01-01T00:00:00", "-3d"):
        assert_problem(
            clients["viewer"].get(url(org) + f"?expiresBefore={bad}"), 400, field="expiresBefore"
        )
