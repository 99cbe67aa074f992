"""Agent-mode clusters in the API: registering one (its token shown once, kept hashed),
rotating and revoking the token, setting the scope, and who may."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from audit.models import AuditEvent
from clusters.agent import tokens
from clusters.models import ChangeEvent, Cluster
from tests.conftest import Personas
from tests.helpers import assert_problem, check_access

pytestmark = pytest.mark.django_db

SCOPE = {"namespaces": ["team-*"], "tags": ["env:dev"], "secrets": ["db"]}


def clusters_url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/clusters"


def register_agent(client: APIClient, org_id: int, name: str = "edge", **extra: Any) -> Any:
    response = client.post(
        clusters_url(org_id), {"name": name, "mode": "agent", **extra}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def database_dump() -> str:
    """Every cluster and audit row, as ``dumpdata`` writes them."""
    out = io.StringIO()
    call_command("dumpdata", "clusters.cluster", "audit.auditevent", stdout=out)
    return out.getvalue()


def test_registering_an_agent_cluster_shows_its_token_once_and_keeps_only_its_hash(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    org = personas.org.pk
    body = register_agent(clients["admin"], org, scope=SCOPE)
    raw = body["agentToken"]
    assert raw.startswith("psa_") and len(raw) == 4 + 43
    assert body["mode"] == "agent" and body["secretId"] == ""
    assert body["scope"] == SCOPE
    assert body["agent"]["tokenPrefix"] == raw[:8] and body["agent"]["lastSeen"] is None
    cluster = Cluster.objects.get(pk=body["id"])
    assert cluster.agent_token_hash and raw not in database_dump()
    assert tokens.cluster_for_token(raw) == cluster
    shown = clients["admin"].get(f"{clusters_url(org)}/{cluster.pk}").json()
    assert "agentToken" not in shown and shown["agent"]["tokenPrefix"] == raw[:8]
    listed = clients["viewer"].get(clusters_url(org)).json()
    assert all("agentToken" not in item for item in listed)
    created = AuditEvent.objects.get(action="cluster.create", target_id=str(cluster.pk))
    assert created.detail == {"mode": "agent", "scope": SCOPE}


def test_a_kubeconfig_cluster_has_no_agent_members(personas: Personas) -> None:
    from clusters.api.serializers import ClusterSerializer

    cluster = Cluster.objects.create(
        organization=personas.org, name="push", kubeconfig_secret_id="a"
    )
    data = ClusterSerializer(cluster).data
    assert data["mode"] == "kubeconfig" and "scope" not in data and "agent" not in data


def test_registration_without_a_scope_receives_nothing(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    body = register_agent(clients["admin"], personas.org.pk)
    assert body["scope"] == {"namespaces": [], "tags": [], "secrets": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Bad_Name", "mode": "agent"}, "name"),
        ({"name": "edge", "mode": "agent", "kubeconfig": "x"}, "kubeconfig"),
        ({"name": "edge", "mode": "agent", "secretId": "x"}, "secretId"),
        ({"name": "edge", "mode": "kubeconfig", "scope": SCOPE}, "scope"),
        ({"name": "edge", "mode": "pull"}, "mode"),
        (
            {"name": "edge", "mode": "agent", "scope": {"namespaces": ["Team A"]}},
            "scope.namespaces.0",
        ),
        ({"name": "edge", "mode": "agent", "scope": {"tags": [" x"]}}, "scope.tags.0"),
        ({"name": "edge", "mode": "agent", "scope": {"secrets": [3]}}, "scope.secrets.0"),
    ],
)
def test_bad_registrations_are_400_naming_the_field(
    personas: Personas, clients: dict[str, APIClient], body: dict[str, Any], field: str
) -> None:
    response = clients["admin"].post(clusters_url(personas.org.pk), body, format="json")
    problem = assert_problem(response, 400)
    assert field in problem["errors"], problem
    assert (
        not Cluster.objects.exists()
        and not AuditEvent.objects.filter(action="cluster.create").exists()
    )


def test_a_duplicate_name_is_409(personas: Personas, clients: dict[str, APIClient]) -> None:
    register_agent(clients["admin"], personas.org.pk)
    response = clients["admin"].post(
        clusters_url(personas.org.pk), {"name": "edge", "mode": "agent"}, format="json"
    )
    assert_problem(response, 409)
    assert Cluster.objects.count() == 1


def test_only_admins_register_rotate_revoke_and_scope(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    org = personas.org.pk
    check_access(
        clients,
        "post",
        clusters_url(org),
        allowed=("admin",),
        ok=201,
        make_body=lambda persona: {"name": f"edge-{persona}", "mode": "agent"},
    )
    cluster = Cluster.objects.get(name="edge-admin")
    url = f"{clusters_url(org)}/{cluster.pk}"
    check_access(clients, "patch", url, allowed=("admin",), ok=200, body={"scope": SCOPE})
    check_access(clients, "post", f"{url}/agent-token", allowed=("admin",), ok=201)
    check_access(clients, "delete", f"{url}/agent-token", allowed=("admin",), ok=204)
    check_access(clients, "get", url, allowed=("admin", "member", "viewer"), ok=200)


def test_another_orgs_cluster_is_404(personas: Personas, clients: dict[str, APIClient]) -> None:
    body = register_agent(clients["outsider"], personas.other_org.pk)
    theirs = f"{clusters_url(personas.other_org.pk)}/{body['id']}"
    ours = f"{clusters_url(personas.org.pk)}/{body['id']}"
    admin = clients["admin"]
    assert_problem(admin.get(theirs), 404)
    assert_problem(admin.patch(ours, {"scope": SCOPE}, format="json"), 404)
    assert_problem(admin.post(f"{ours}/agent-token"), 404)
    assert_problem(admin.delete(f"{ours}/agent-token"), 404)
    assert tokens.cluster_for_token(body["agentToken"]) is not None


def test_rotating_invalidates_the_old_token_at_once(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    body = register_agent(clients["admin"], personas.org.pk)
    old = body["agentToken"]
    url = f"{clusters_url(personas.org.pk)}/{body['id']}/agent-token"
    response = clients["admin"].post(url)
    assert response.status_code == 201
    new = response.json()["agentToken"]
    assert new != old and new.startswith("psa_")
    assert tokens.cluster_for_token(old) is None
    assert tokens.cluster_for_token(new) is not None
    dump = database_dump()
    assert old not in dump and new not in dump
    rotated = AuditEvent.objects.get(action="cluster.agent_token.rotate")
    assert rotated.detail == {} and rotated.actor == "alice"
    shown = clients["viewer"].get(f"{clusters_url(personas.org.pk)}/{body['id']}").json()
    assert shown["agent"]["tokenPrefix"] == new[:8]


def test_revoking_leaves_no_working_token(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    body = register_agent(clients["admin"], personas.org.pk)
    url = f"{clusters_url(personas.org.pk)}/{body['id']}"
    assert clients["admin"].delete(f"{url}/agent-token").status_code == 204
    assert tokens.cluster_for_token(body["agentToken"]) is None
    shown = clients["admin"].get(url).json()
    assert shown["agent"]["tokenPrefix"] == "" and shown["agent"]["tokenCreatedAt"] is None
    assert AuditEvent.objects.filter(action="cluster.agent_token.revoke").count() == 1
    # A rotation gives the agent a token again.
    again = clients["admin"].post(f"{url}/agent-token").json()["agentToken"]
    assert tokens.cluster_for_token(again) is not None


def test_unknown_and_foreign_tokens_find_no_cluster(personas: Personas) -> None:
    assert tokens.cluster_for_token("") is None
    assert tokens.cluster_for_token("psa_" + "A" * 43) is None
    # A kubeconfig cluster never answers to a token, even one whose hash it would hold.
    raw = "psa_" + "B" * 43
    from orgs.services import hash_token

    Cluster.objects.create(
        organization=personas.org,
        name="push",
        kubeconfig_secret_id="a",
        agent_token_hash=hash_token(raw),
    )
    assert tokens.cluster_for_token(raw) is None


def test_a_kubeconfig_cluster_has_no_token_and_no_scope(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    cluster = Cluster.objects.create(
        organization=personas.org, name="push", kubeconfig_secret_id="a"
    )
    url = f"{clusters_url(personas.org.pk)}/{cluster.pk}"
    assert_problem(clients["admin"].post(f"{url}/agent-token"), 409)
    assert_problem(clients["admin"].delete(f"{url}/agent-token"), 409)
    assert_problem(clients["admin"].patch(url, {"scope": SCOPE}, format="json"), 400, field="scope")
    cluster.refresh_from_db()
    assert cluster.agent_token_hash == "" and not ChangeEvent.objects.exists()


def test_setting_the_scope_tells_the_agent_to_reconcile(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    body = register_agent(clients["admin"], personas.org.pk)
    url = f"{clusters_url(personas.org.pk)}/{body['id']}"
    response = clients["admin"].patch(
        url, {"scope": {"namespaces": ["team-a", "team-a"], "tags": ["env:dev"]}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == {
        "namespaces": ["team-a"],
        "tags": ["env:dev"],
        "secrets": [],
    }
    events = list(ChangeEvent.objects.filter(cluster_id=body["id"]))
    assert [e.payload for e in events] == [{"kind": "reconcile"}]
    audited = AuditEvent.objects.get(action="cluster.scope")
    assert audited.detail["scope"]["namespaces"] == ["team-a"]
    # Nothing given: nothing changes, nothing is announced.
    assert clients["admin"].patch(url, {}, format="json").status_code == 200
    assert ChangeEvent.objects.count() == 1


def test_bad_scopes_are_field_errors_and_change_nothing(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    body = register_agent(clients["admin"], personas.org.pk, scope=SCOPE)
    url = f"{clusters_url(personas.org.pk)}/{body['id']}"
    bad = {"namespaces": ["ok", "NOT OK", "fine-*"], "secrets": ["x", ""]}
    problem = assert_problem(clients["admin"].patch(url, {"scope": bad}, format="json"), 400)
    assert {"scope.namespaces.1", "scope.secrets.1"} <= set(problem["errors"]), problem
    not_a_list = {"scope": {"tags": "env:dev"}}
    assert_problem(clients["admin"].patch(url, not_a_list, format="json"), 400, field="scope.tags")
    assert Cluster.objects.get(pk=body["id"]).scope == SCOPE
    assert not ChangeEvent.objects.exists()


def test_checking_an_agent_cluster_asks_its_heartbeat(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    body = register_agent(clients["admin"], personas.org.pk)
    response = clients["member"].get(f"{clusters_url(personas.org.pk)}/{body['id']}?check=true")
    assert response.status_code == 200
    checked = response.json()
    assert checked["reachable"] is False and "not connected" in checked["lastError"]
