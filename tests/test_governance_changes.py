"""Protected secrets and change requests against the real OpenBao: a change to a protected
secret is held (its values in Vault, never applied), decided by other admins, applied
through the one write path, or rejected, withdrawn and expired with nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from governance import changes
from governance.models import ChangeRequest, Protection
from orgs.models import Membership, Role
from secrets_app import lifecycle, vault
from secrets_app.index import index_rebuild
from secrets_app.models import SecretIndex, SecretLifecycle
from tests.conftest import make_user, token_client
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def secrets_url(org_id: int, suffix: str = "") -> str:
    return f"/api/v1/orgs/{org_id}/secrets{suffix}"


def changes_url(org_id: int, suffix: str = "") -> str:
    return f"/api/v1/orgs/{org_id}/change-requests{suffix}"


def create(client, org_id, name, values, tags=(), type="generic", **extra):
    body = {"name": name, "type": type, "values": values, "tags": list(tags), **extra}
    response = client.post(secrets_url(org_id), body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def protect(client, org_id, **rule):
    response = client.put(f"/api/v1/orgs/{org_id}/protection", rule, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def stored_at(path: str) -> vault.VaultDocument:
    found = vault.read(path)
    assert found is not None
    return found


def stored(org_id: int, secret_id: str) -> vault.VaultDocument:
    return stored_at(f"orgs/{org_id}/{secret_id}")


@pytest.fixture
def second_admin(personas):
    bob = make_user("bob")
    Membership.objects.create(user=bob, organization=personas.org, role=Role.ADMIN)
    return token_client(bob)


@pytest.fixture
def held(vault, personas, clients):
    """A protected secret (tag env:prod) and mike's update of it, held."""
    org = personas.org.pk
    created = create(clients["member"], org, "db", {"password": "one", "user": "u"}, ["env:prod"])
    protect(clients["admin"], org, tags=["env:prod"])
    response = clients["member"].put(
        secrets_url(org, f"/{created['id']}"),
        {"values": {"password": "two", "host": "h"}, "tags": ["env:prod"]},
        format="json",
    )
    assert response.status_code == 202, response.content
    return created["id"], response.json()["changeRequest"]


def test_protection_defaults_and_its_field_errors(vault, personas, clients):
    org = personas.org.pk
    answer = clients["admin"].get(f"/api/v1/orgs/{org}/protection")
    assert answer.json() == {
        "tags": [],
        "secrets": [],
        "requiredApprovals": 1,
        "scheduledRotation": "allow",
        "breakGlass": False,
    }
    bad = clients["admin"].put(
        f"/api/v1/orgs/{org}/protection",
        {"requiredApprovals": 0, "scheduledRotation": "later"},
        format="json",
    )
    assert_problem(bad, 400)
    for body, field in (
        ({"secrets": ["not\u0000an id"]}, "secrets"),
        ({"tags": ["env prod"]}, "tags"),
        ({"tags": [f"t{i}" for i in range(201)]}, "tags"),
    ):
        refused = clients["admin"].put(f"/api/v1/orgs/{org}/protection", body, format="json")
        assert_problem(refused, 400, field=field)
    assert not Protection.objects.exists()
    assert clients["member"].get(f"/api/v1/orgs/{org}/protection").status_code == 403
    saved = protect(clients["admin"], org, tags=["env:prod"], requiredApprovals=2)
    assert saved["tags"] == ["env:prod"] and saved["requiredApprovals"] == 2
    assert AuditEvent.objects.filter(action="protection.update").count() == 1


def test_a_protected_update_is_held_with_its_values_in_vault_only(held, personas, clients):
    secret_id, request = held
    org = personas.org.pk
    assert request["status"] == "pending" and request["kind"] == "update"
    # Nothing applied: Vault and the index still hold version 1.
    assert stored(org, secret_id).version == 1
    assert stored(org, secret_id).data["values"] == {"password": "one", "user": "u"}
    assert SecretIndex.objects.get(secret_id=secret_id).version == 1
    item = ChangeRequest.objects.get(pk=request["id"])
    assert item.held_path.startswith(f"orgs/{org}/held/{item.pk}-")
    assert stored_at(item.held_path).data["values"] == {"password": "two", "host": "h"}
    # The database holds key names only, never a value.
    assert item.proposal["added"] == ["host"] and item.proposal["removed"] == ["user"]
    assert item.proposal["changed"] == ["password"]
    assert "two" not in str(item.proposal) and "two" not in str(
        list(AuditEvent.objects.values_list("detail", flat=True))
    )
    shown = clients["viewer"].get(changes_url(org, f"/{item.pk}")).json()
    assert shown["proposal"]["changed"] == ["password"] and shown["requestedBy"] == "mike"
    listed = clients["viewer"].get(changes_url(org) + "?status=pending").json()
    assert [r["id"] for r in listed] == [item.pk]
    assert clients["viewer"].get(changes_url(org) + "?status=applied").json() == []
    assert_problem(clients["viewer"].get(changes_url(org) + "?status=done"), 400, field="status")
    # The held folder is not a secret: rebuilding the index leaves the secret alone.
    assert index_rebuild(organizations=[personas.org]) == {"indexed": 1, "removed": 0}


def test_admins_changes_are_held_too_and_the_requester_cannot_approve(held, personas, clients):
    secret_id, _ = held
    org = personas.org.pk
    response = clients["admin"].put(
        secrets_url(org, f"/{secret_id}"),
        {"values": {"password": "three"}, "tags": ["env:prod"]},
        format="json",
    )
    assert response.status_code == 202
    mine = response.json()["changeRequest"]["id"]
    refused = clients["admin"].post(changes_url(org, f"/{mine}/approve"))
    assert_problem(refused, 403)
    assert "another admin" in refused.json()["detail"]
    assert stored(org, secret_id).version == 1
    # A member may not approve at all.
    assert_problem(clients["member"].post(changes_url(org, f"/{mine}/approve")), 403)


def test_a_second_admins_approval_applies_the_change(held, personas, clients):
    secret_id, request = held
    org = personas.org.pk
    item = ChangeRequest.objects.get(pk=request["id"])
    approved = clients["admin"].post(changes_url(org, f"/{item.pk}/approve"))
    assert approved.status_code == 200, approved.content
    body = approved.json()
    assert body["status"] == "applied" and body["appliedVersion"] == 2
    document = stored(org, secret_id)
    assert document.version == 2 and document.data["values"] == {"password": "two", "host": "h"}
    assert SecretIndex.objects.get(secret_id=secret_id).version == 2
    assert vault.read(item.held_path) is None
    event = AuditEvent.objects.get(action="secret.update", target_id=secret_id)
    assert event.detail["changeRequest"] == item.pk and event.detail["requestedBy"] == "mike"
    assert {"change.request", "change.approve", "change.applied"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )
    again = clients["admin"].post(changes_url(org, f"/{item.pk}/approve"))
    assert_problem(again, 409)


def test_two_required_approvals_wait_for_the_second(held, personas, clients, second_admin):
    secret_id, request = held
    org = personas.org.pk
    protect(clients["admin"], org, requiredApprovals=2)
    first = clients["admin"].post(changes_url(org, f"/{request['id']}/approve")).json()
    assert first["status"] == "pending" and len(first["approvals"]) == 1
    assert stored(org, secret_id).version == 1
    second = second_admin.post(changes_url(org, f"/{request['id']}/approve")).json()
    assert second["status"] == "applied"
    assert stored(org, secret_id).version == 2


def test_a_secret_changed_meanwhile_fails_the_request(held, personas, clients):
    secret_id, request = held
    org = personas.org.pk
    Protection.objects.filter(organization=personas.org).update(tags=[])
    changed = clients["member"].put(
        secrets_url(org, f"/{secret_id}"), {"values": {"password": "x"}}, format="json"
    )
    assert changed.status_code == 200
    Protection.objects.filter(organization=personas.org).update(tags=["env:prod"])
    body = clients["admin"].post(changes_url(org, f"/{request['id']}/approve")).json()
    assert body["status"] == "failed" and "changed since" in body["lastError"]
    assert stored(org, secret_id).data["values"] == {"password": "x"}
    assert vault.read(ChangeRequest.objects.get(pk=request["id"]).held_path) is None


def test_reject_and_withdraw_leave_nothing_changed(held, personas, clients):
    secret_id, request = held
    org = personas.org.pk
    item = ChangeRequest.objects.get(pk=request["id"])
    assert_problem(clients["admin"].post(changes_url(org, f"/{item.pk}/withdraw")), 403)
    rejected = clients["admin"].post(changes_url(org, f"/{item.pk}/reject")).json()
    assert rejected["status"] == "rejected" and rejected["decidedBy"] == "alice"
    assert stored(org, secret_id).version == 1 and vault.read(item.held_path) is None
    assert_problem(clients["admin"].post(changes_url(org, f"/{item.pk}/approve")), 409)

    again = clients["member"].put(
        secrets_url(org, f"/{secret_id}"),
        {"values": {"p": "q"}, "tags": ["env:prod"]},
        format="json",
    )
    second = ChangeRequest.objects.get(pk=again.json()["changeRequest"]["id"])
    withdrawn = clients["member"].post(changes_url(org, f"/{second.pk}/withdraw")).json()
    assert withdrawn["status"] == "withdrawn"
    assert stored(org, secret_id).version == 1 and vault.read(second.held_path) is None


def test_expired_requests_are_never_applied(held, personas, clients):
    secret_id, request = held
    org = personas.org.pk
    item = ChangeRequest.objects.get(pk=request["id"])
    later = item.expires_at + timedelta(seconds=1)
    assert changes.expire_due(item.expires_at - timedelta(seconds=1)) == {"expired": 0}
    assert changes.expire_due(later) == {"expired": 1}
    item.refresh_from_db()
    assert item.status == "expired" and vault.read(item.held_path) is None
    assert_problem(clients["admin"].post(changes_url(org, f"/{item.pk}/approve")), 409)
    assert stored(org, secret_id).version == 1
    # One past its expiry but not yet swept is expired at use, never applied.
    again = clients["member"].put(
        secrets_url(org, f"/{secret_id}"),
        {"values": {"p": "q"}, "tags": ["env:prod"]},
        format="json",
    )
    late = again.json()["changeRequest"]["id"]
    ChangeRequest.objects.filter(pk=late).update(expires_at=timezone.now() - timedelta(1))
    assert_problem(clients["admin"].post(changes_url(org, f"/{late}/approve")), 409)
    assert ChangeRequest.objects.get(pk=late).status == "expired"
    assert stored(org, secret_id).version == 1


def test_protected_delete_tag_change_and_rollback_are_held(held, personas, clients):
    secret_id, _ = held
    org = personas.org.pk
    deleted = clients["member"].delete(secrets_url(org, f"/{secret_id}"))
    assert deleted.status_code == 202 and deleted.json()["changeRequest"]["kind"] == "delete"
    tagged = clients["member"].put(secrets_url(org, f"/{secret_id}/tags/team:x"))
    assert tagged.status_code == 202, tagged.content
    untagged = clients["member"].delete(secrets_url(org, f"/{secret_id}/tags/env:prod"))
    assert untagged.status_code == 202
    assert stored(org, secret_id).version == 1
    assert SecretIndex.objects.get(secret_id=secret_id).tags == ["env:prod"]
    delete = ChangeRequest.objects.get(kind="delete")
    assert delete.held_path == "" and delete.proposal["delete"] is True
    applied = clients["admin"].post(changes_url(org, f"/{delete.pk}/approve")).json()
    assert applied["status"] == "applied"
    assert vault.read(f"orgs/{org}/{secret_id}") is None
    assert not SecretIndex.objects.filter(secret_id=secret_id).exists()


def test_protection_by_id_and_unprotected_secrets_change_at_once(vault, personas, clients):
    org = personas.org.pk
    listed = create(clients["member"], org, "one", {"k": "1"})
    free = create(clients["member"], org, "two", {"k": "1"})
    protect(clients["admin"], org, secrets=[listed["id"]])
    held = clients["member"].put(
        secrets_url(org, f"/{listed['id']}"), {"values": {"k": "2"}}, format="json"
    )
    assert held.status_code == 202
    done = clients["member"].put(
        secrets_url(org, f"/{free['id']}"), {"values": {"k": "2"}}, format="json"
    )
    assert done.status_code == 200 and done.json()["version"] == 2


@pytest.mark.parametrize("setting", ["allow", "hold"])
def test_scheduled_rotation_is_allowed_or_held_by_the_setting(setting, vault, personas, clients):
    org = personas.org.pk
    created = create(
        clients["member"],
        org,
        "token",
        {"username": "u"},
        ["env:prod"],
        type="password",
        rotation={"every": "1d"},
    )
    protect(clients["admin"], org, tags=["env:prod"], scheduledRotation=setting)
    later = timezone.now() + timedelta(days=2)
    counts = lifecycle.run_rotations(later)
    version = stored(org, created["id"]).version
    if setting == "allow":
        assert counts == {"rotated": 1, "failed": 0} and version == 2
        assert not ChangeRequest.objects.exists()
        return
    assert counts == {"rotated": 0, "failed": 1} and version == 1
    item = ChangeRequest.objects.get()
    assert item.kind == "rotate" and item.requested_by == "system"
    assert "held for approval" in SecretLifecycle.objects.get().last_error
    # A retry of the held rotation makes no second request.
    lifecycle.run_rotations(later + timedelta(days=2))
    assert ChangeRequest.objects.count() == 1
    applied = clients["admin"].post(changes_url(org, f"/{item.pk}/approve")).json()
    assert applied["status"] == "applied" and stored(org, created["id"]).version == 2


def test_a_manual_rotation_and_a_rollback_are_held(held, personas, clients):
    secret_id, _ = held
    org = personas.org.pk
    password = create(
        clients["member"], org, "pw", {"username": "u"}, ["env:prod"], type="password"
    )
    rotated = clients["member"].post(secrets_url(org, f"/{password['id']}/rotate"))
    assert rotated.status_code == 202 and rotated.json()["changeRequest"]["kind"] == "rotate"
    assert stored(org, password["id"]).version == 1
    # A generic secret cannot rotate: the type's refusal comes before any hold.
    assert_problem(clients["member"].post(secrets_url(org, f"/{secret_id}/rotate")), 400)
    Protection.objects.filter(organization=personas.org).update(tags=[])
    clients["member"].put(
        secrets_url(org, f"/{secret_id}"),
        {"values": {"a": "b"}, "tags": ["env:prod"]},
        format="json",
    )
    Protection.objects.filter(organization=personas.org).update(tags=["env:prod"])
    rolled = clients["member"].post(
        secrets_url(org, f"/{secret_id}/rollback"), {"version": 1}, format="json"
    )
    assert rolled.status_code == 202
    item = ChangeRequest.objects.get(pk=rolled.json()["changeRequest"]["id"])
    assert item.kind == "rollback" and item.proposal["source"] == 1
    applied = clients["admin"].post(changes_url(org, f"/{item.pk}/approve")).json()
    assert applied["status"] == "applied"
    assert stored(org, secret_id).data["values"] == {"password": "one", "user": "u"}


def test_a_request_being_applied_takes_no_second_decision(held, personas, clients, second_admin):
    _, request = held
    org = personas.org.pk
    # What the first of two approvals at once leaves while it applies the change.
    ChangeRequest.objects.filter(pk=request["id"]).update(decided_at=timezone.now())
    for path in ("approve", "reject"):
        refused = second_admin.post(changes_url(org, f"/{request['id']}/{path}"))
        assert_problem(refused, 409)
        assert "being applied" in refused.json()["detail"]
    assert ChangeRequest.objects.get(pk=request["id"]).approvals.count() == 0
