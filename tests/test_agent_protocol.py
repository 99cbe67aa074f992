"""The agent routes (docs/agent-protocol.md) against real OpenBao: who may call them, the
change stream, the desired state with values as the policy allows, and the reports."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from clusters.agent import changes, events, tokens
from clusters.agent.render import CLUSTER_LABEL
from clusters.models import ChangeEvent, Cluster, DriftEvent, Installation, SecretSync
from tests.test_clusters import create_secret

AGENT = "/api/v1/agent"
# A kubeconfig held inline (never contacted here: secrets are created without validation).
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: abc}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def agent_cluster(org: Any, name: str = "edge", scope: dict | None = None) -> tuple[Cluster, str]:
    cluster = Cluster.objects.create(
        organization=org,
        name=name,
        mode=Cluster.Mode.AGENT,
        scope=scope or {"namespaces": ["team-*"], "tags": ["env:dev"], "secrets": ["db"]},
    )
    return cluster, new_token(cluster)


def new_token(cluster: Cluster) -> str:
    raw = tokens.issue(cluster)
    cluster.save()
    return raw


def agent_client(raw: str, version: str = "0.1.0") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_X_AGENT_VERSION=version)
    return client


def installation(cluster: Cluster, secret: dict, namespace: str = "team-a", **extra: Any):
    return Installation.objects.create(
        cluster=cluster,
        namespace=namespace,
        secret_id=secret["id"],
        secret_name=secret["name"],
        kube_name=secret["name"],
        version=1,
        sourcing="env",
        status=Installation.Status.PENDING,
        **extra,
    )


@pytest.fixture
def edge(personas):
    return agent_cluster(personas.org)


def test_only_an_agent_token_opens_the_agent_routes(personas, clients, edge) -> None:
    cluster, raw = edge
    for client in (clients["admin"], APIClient()):
        assert client.get(f"{AGENT}/changes").status_code == 401
    response = agent_client(raw, "0.1.7").get(f"{AGENT}/changes")
    assert response.status_code == 200, response.content
    cluster.refresh_from_db()
    assert cluster.agent_version == "0.1.7" and cluster.agent_seen_at is not None
    # The agent token opens nothing else: it is no API token.
    org_route = f"/api/v1/orgs/{personas.org.pk}/secrets"
    assert agent_client(raw).get(org_route).status_code == 401
    # A rotated (here: replaced) token stops working at once.
    new_token(cluster)
    assert agent_client(raw).get(f"{AGENT}/changes").status_code == 401


def test_a_kubeconfig_cluster_has_no_agent(personas) -> None:
    push = Cluster.objects.create(organization=personas.org, name="push")
    raw = new_token(push)  # a token on a kubeconfig cluster opens nothing
    assert agent_client(raw).get(f"{AGENT}/changes").status_code == 401


def test_changes_start_from_the_cursor_and_reset_when_pruned(personas, edge) -> None:
    cluster, raw = edge
    other, _ = agent_cluster(personas.org, "other")
    client = agent_client(raw)
    start = client.get(f"{AGENT}/changes").json()
    assert start == {"cursor": changes.current_cursor(), "reset": False, "events": []}
    events.emit(cluster, events.RECONCILE)
    events.emit(other, events.RECONCILE)  # another cluster's: never shown here
    events.emit(cluster, events.REMOVAL, namespace="team-a", name="db")
    got = client.get(f"{AGENT}/changes", {"after": start["cursor"], "wait": 1}).json()
    assert [e["kind"] for e in got["events"]] == ["reconcile", "removal"]
    assert got["cursor"] == got["events"][-1]["id"] and not got["reset"]
    assert got["events"][1] == {
        "id": got["cursor"],
        "kind": "removal",
        "namespace": "team-a",
        "name": "db",
    }
    # Nothing newer: the long-poll waits, then answers with the same cursor.
    began = time.monotonic()
    idle = client.get(f"{AGENT}/changes", {"after": got["cursor"], "wait": 1}).json()
    assert idle == {"cursor": got["cursor"], "reset": False, "events": []}
    assert time.monotonic() - began >= 0.9
    # Events older than kept are pruned; a cursor from before them must reconcile in full.
    ChangeEvent.objects.update(created_at=timezone.now() - timedelta(days=30))
    assert changes.prune(timezone.now())["pruned"] == 3
    stale = client.get(f"{AGENT}/changes", {"after": start["cursor"], "wait": 1}).json()
    assert stale["reset"] is True
    ahead = client.get(f"{AGENT}/changes", {"after": 10**9, "wait": 1}).json()
    assert ahead["reset"] is True
    bad = client.get(f"{AGENT}/changes", {"after": "x"})
    assert bad.status_code == 400 and "after" in str(bad.json())


@pytest.mark.django_db(transaction=True)
def test_a_long_poll_answers_as_soon_as_a_change_commits(personas, edge) -> None:
    cluster, raw = edge
    client = agent_client(raw)
    cursor = client.get(f"{AGENT}/changes").json()["cursor"]
    timer = threading.Timer(0.5, lambda: events.emit(cluster.pk, events.RECONCILE))
    timer.start()
    began = time.monotonic()
    got = client.get(f"{AGENT}/changes", {"after": cursor, "wait": 20}).json()
    took = time.monotonic() - began
    timer.join()
    assert [e["kind"] for e in got["events"]] == ["reconcile"]
    assert took < 10  # well before the 20 s wait: the change ended it


def render(raw: str, body: dict) -> dict:
    response = agent_client(raw).post(f"{AGENT}/render", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_render_sends_in_scope_values_and_audits_them_as_the_cluster(
    vault, personas, clients, edge
) -> None:
    cluster, raw = edge
    admin = clients["admin"]
    org = personas.org.pk
    db = create_secret(admin, org, "db", "password", {"username": "app", "password": "s3cret-db"})
    dev = create_secret(admin, org, "api", "generic", {"token": "t0k"}, tags=["env:dev"])
    prod = create_secret(admin, org, "prod", "generic", {"token": "p"}, tags=["env:prod"])
    kube = create_secret(
        admin,
        org,
        "kc",
        "kubernetes",
        {"K8Sconfig": KUBECONFIG},
        tags=["env:dev"],
    )
    ok = [installation(cluster, db), installation(cluster, dev)]
    out_ns = installation(cluster, dev, namespace="prod-a")
    out_tag = installation(cluster, prod)
    admin_type = installation(cluster, kube)
    before = AuditEvent.objects.filter(actor="cluster:edge").count()
    answer = render(raw, {"installations": "all"})
    by_id = {item["id"]: item for item in answer["installations"]}
    first = by_id[ok[0].pk]
    assert first["state"] == "present" and first["namespace"] == "team-a"
    assert first["secret"]["data"]["password"] == "s3cret-db"
    assert first["secret"]["labels"][CLUSTER_LABEL] == str(cluster.pk)
    assert first["secret"]["labels"]["app.kubernetes.io/managed-by"] == "pipeline-secrets"
    assert first["secret"]["type"] == "kubernetes.io/basic-auth"
    assert by_id[ok[1].pk]["secret"]["data"] == {"token": "t0k"}
    for refused in (out_ns, out_tag, admin_type):
        assert by_id[refused.pk] == {"id": refused.pk, "state": "absent"}
        refused.refresh_from_db()
        assert refused.status == "failed" and "outside the scope" in refused.last_error
    reads = AuditEvent.objects.filter(actor="cluster:edge", action="secret.read")
    assert reads.count() - before == 2
    assert {e.target_name for e in reads} == {"db", "api"}
    assert all(e.detail["purpose"] == "agent" for e in reads)
    assert "s3cret-db" not in str(list(AuditEvent.objects.values()))
    first = render(raw, {"installations": "all", "limit": 2})
    assert [i["id"] for i in first["installations"]] == [ok[0].pk, ok[1].pk]
    assert first["more"] is True and first["after"] == ok[1].pk
    rest = render(raw, {"installations": "all", "after": first["after"], "limit": 10})
    assert [i["id"] for i in rest["installations"]] == [out_ns.pk, out_tag.pk, admin_type.pk]
    assert rest["more"] is False
    bad = agent_client(raw).post(f"{AGENT}/render", {"limit": 0}, format="json")
    assert bad.status_code == 400 and "limit" in str(bad.json())
    gone = render(raw, {"installations": [ok[0].pk, 999999]})["installations"]
    assert gone[-1] == {"id": 999999, "state": "absent"} and gone[0]["state"] == "present"


def sync(name: str, spec: dict, namespace: str = "team-a") -> dict:
    return {"namespace": namespace, "name": name, "spec": spec}


def test_secret_syncs_render_within_the_scope_only(vault, personas, clients, edge) -> None:
    cluster, raw = edge
    admin, org = clients["admin"], personas.org.pk
    create_secret(admin, org, "db", "password", {"username": "app", "password": "pw1"})
    create_secret(admin, org, "a", "generic", {"one": "1"}, tags=["env:dev", "app:x"])
    create_secret(admin, org, "b", "generic", {"two": "2"}, tags=["env:dev", "app:x"])
    create_secret(admin, org, "c", "generic", {"two": "3"}, tags=["env:dev", "app:y"])
    create_secret(admin, org, "secret-prod", "generic", {"k": "v"}, tags=["env:prod"])
    asked = [
        sync(
            "by-name",
            {
                "secretName": "db",
                "target": {"name": "db-copy"},
                "spec": {"PASS": {"source": "password"}},
            },
        ),
        sync("merged", {"query": {"tags": ["app:x"]}}),
        sync("conflict", {"query": {"tag": "env:dev", "type": "generic"}}),
        sync("outside", {"secretName": "secret-prod"}),
        sync("wrong-ns", {"secretName": "db"}, namespace="kube-system"),
        sync("both", {"secretName": "db", "query": {"tag": "x"}}),
        sync("missing", {"secretName": "nope"}),
    ]
    got = {s["name"]: s for s in render(raw, {"syncs": asked, "allSyncs": True})["syncs"]}
    assert got["by-name"]["secret"]["name"] == "db-copy"
    assert got["by-name"]["secret"]["data"] == {"PASS": "pw1"}
    assert got["by-name"]["ready"] is True and len(got["by-name"]["version"]) == 64
    assert got["merged"]["secret"]["data"] == {"one": "1", "two": "2"}
    assert got["merged"]["secret"]["type"] == "Opaque"
    assert got["conflict"]["secret"] is None and "both hold two" in got["conflict"]["message"]
    for name in ("outside", "wrong-ns"):
        assert got[name]["reason"] == "OutOfScope" and got[name]["secret"] is None
        assert "scope of cluster edge" in got[name]["message"]
    assert got["both"]["reason"] == "Invalid"
    assert got["missing"]["reason"] == "SecretNotFound"
    kept = set(SecretSync.objects.filter(cluster=cluster).values_list("name", flat=True))
    assert kept == {s["name"] for s in asked}
    read = set(
        AuditEvent.objects.filter(actor="cluster:edge").values_list("target_name", flat=True)
    )
    assert read == {"db", "a", "b", "c"}  # never the out-of-scope one
    # Every sync sent again, one fewer: its record goes.
    render(raw, {"syncs": asked[:1], "allSyncs": True})
    assert list(SecretSync.objects.filter(cluster=cluster).values_list("name", flat=True)) == [
        "by-name"
    ]


def test_reports_move_copies_out_of_pending_and_record_drift(
    vault, personas, clients, edge
) -> None:
    cluster, raw = edge
    other, _ = agent_cluster(personas.org, "other")
    admin, org = clients["admin"], personas.org.pk
    db = create_secret(admin, org, "db", "password", {"username": "app", "password": "pw1"})
    applied, failed = installation(cluster, db), installation(cluster, db, namespace="team-b")
    foreign = installation(other, db)
    body = {
        "agentVersion": "0.1.0",
        "installations": [
            {
                "id": applied.pk,
                "version": 1,
                "status": "installed",
                "appliedAt": timezone.now().isoformat(),
            },
            {"id": failed.pk, "version": 1, "status": "failed", "error": "quota exceeded"},
            {"id": foreign.pk, "version": 1, "status": "installed"},
        ],
        "drift": [{"namespace": "team-a", "name": "db", "change": "edited", "repaired": True}],
    }
    response = agent_client(raw).post(f"{AGENT}/report", body, format="json")
    assert response.status_code == 204, response.content
    applied.refresh_from_db(), failed.refresh_from_db(), foreign.refresh_from_db()
    assert applied.status == "installed" and applied.applied_at is not None
    assert failed.status == "failed" and failed.last_error == "quota exceeded"
    assert foreign.status == "pending"  # another cluster's copy is not the agent's to report
    drift = DriftEvent.objects.get(cluster=cluster)
    assert (drift.kube_name, drift.change, drift.repaired) == ("db", "edited", True)
    assert AuditEvent.objects.filter(action="cluster.drift", actor="cluster:edge").exists()
    bad = agent_client(raw).post(
        f"{AGENT}/report", {"drift": [{"change": "stolen"}]}, format="json"
    )
    assert bad.status_code == 400 and "drift.change" in str(bad.json())


def test_a_new_secret_a_sync_query_selects_reaches_the_agent(vault, personas, clients, edge):
    _, raw = edge
    admin, org = clients["admin"], personas.org.pk
    create_secret(admin, org, "a", "generic", {"one": "1"}, tags=["env:dev", "app:x"])
    render(raw, {"syncs": [sync("merged", {"query": {"tags": ["app:x"]}})], "allSyncs": True})
    cursor = changes.current_cursor()
    create_secret(admin, org, "b", "generic", {"two": "2"}, tags=["env:dev", "app:x"])
    create_secret(admin, org, "unrelated", "generic", {"three": "3"}, tags=["env:dev"])
    got = agent_client(raw).get(f"{AGENT}/changes", {"after": cursor, "wait": 1}).json()
    assert [e["kind"] for e in got["events"]] == ["sync"]
    assert got["events"][0]["name"] == "merged"
    again = render(raw, {"syncs": [sync("merged", {"query": {"tags": ["app:x"]}})]})
    assert again["syncs"][0]["secret"]["data"] == {"one": "1", "two": "2"}
