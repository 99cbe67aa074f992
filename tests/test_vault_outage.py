"""Vault stopped or sealed for real: 503 naming Vault, nothing written, recovery on return."""

from __future__ import annotations

import pytest

from secrets_app.models import SecretIndex
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/secrets"


def body(name: str) -> dict:
    return {"name": name, "type": "generic", "values": {"k": "outage-value"}}


def test_stopped_vault_is_503_naming_vault_and_recovers_without_restart(
    own_vault, personas, clients
):
    member = clients["member"]
    kept = member.post(url(personas.org.pk), body("kept"), format="json")
    assert kept.status_code == 201
    kept_url = f"{url(personas.org.pk)}/{kept.json()['id']}"

    own_vault.stop()
    problem = assert_problem(member.post(url(personas.org.pk), body("during"), format="json"), 503)
    assert "Vault" in problem["detail"] and "outage-value" not in str(problem)
    assert not SecretIndex.objects.filter(name="during").exists()
    assert "Vault" in assert_problem(member.get(kept_url), 503)["detail"]
    assert_problem(member.put(kept_url, {"values": {"k": "x"}}, format="json"), 503)
    assert_problem(member.delete(kept_url), 503)
    assert SecretIndex.objects.filter(name="kept", version=1).exists()
    # Metadata comes from the index, so listing keeps working while Vault is away.
    listed = member.get(url(personas.org.pk))
    assert listed.status_code == 200 and [s["name"] for s in listed.json()] == ["kept"]
    ready = clients["anonymous"].get("/readyz")
    assert ready.status_code == 503 and "unreachable" in ready.json()["checks"]["vault"]

    own_vault.start_ready()
    assert member.get(kept_url).json()["values"] == {"k": "outage-value"}
    again = member.post(url(personas.org.pk), body("during"), format="json")
    assert again.status_code == 201 and again.json()["version"] == 1


def test_sealed_vault_is_503_saying_sealed_until_unsealed(own_vault, personas, clients):
    member = clients["member"]
    own_vault.seal()
    problem = assert_problem(member.post(url(personas.org.pk), body("sealed"), format="json"), 503)
    assert "sealed" in problem["detail"].lower()
    assert not SecretIndex.objects.exists()
    ready = clients["anonymous"].get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["vault"] == "sealed"

    own_vault.unseal()
    own_vault.wait_ready()
    assert member.post(url(personas.org.pk), body("sealed"), format="json").status_code == 201
    assert clients["anonymous"].get("/readyz").status_code == 200


def test_wrong_vault_token_is_503_not_a_leak(own_vault, personas, clients, settings):
    settings.VAULT_TOKEN = "s.not-a-real-token"
    problem = assert_problem(
        clients["member"].post(url(personas.org.pk), body("denied"), format="json"), 503
    )
    assert "Vault" in problem["detail"] and "s.not-a-real-token" not in str(problem)
    assert not SecretIndex.objects.exists()


def test_app_token_cannot_reach_outside_its_paths(own_vault, settings):
    import hvac

    client = hvac.Client(url=own_vault.addr, token=settings.VAULT_TOKEN)
    with pytest.raises(hvac.exceptions.Forbidden):
        client.secrets.kv.v2.create_or_update_secret(
            path="elsewhere/x", secret={"a": "b"}, mount_point=settings.VAULT_MOUNT
        )
    with pytest.raises(hvac.exceptions.Forbidden):
        client.sys.list_mounted_secrets_engines()
