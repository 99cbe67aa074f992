"""Agent-mode clusters on the server's side: every path that contacts a kubeconfig cluster
(install, uninstall, a secret's update, delete and expiry, the check, namespace suggestions,
the cluster's delete) records the desired state and the change events for the cluster's
agent instead, and never reads a kubeconfig nor connects.

The agent itself is tested elsewhere; here a thread stands in for it the way the report
route records an agent's report (status and ``applied_at`` on the rows)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import yaml
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from audit.models import AuditEvent
from clusters import services, sync, tasks
from clusters.agent import events
from clusters.api.serializers import InstallResultSerializer
from clusters.models import ChangeEvent, Cluster, Installation, SecretSync
from pipeline_secrets.core.errors import ConflictError
from secrets_app import values as secret_values
from secrets_app.models import SecretIndex
from secrets_app.validation import secret_id_for
from tests.helpers import assert_problem
from tests.listener import Listener, http_answer
from tests.test_clusters import clusters_url, create_secret, install, secrets_url
from tests.worker import queued

pytestmark = pytest.mark.django_db(transaction=True)

SCOPE = {"namespaces": ["team-*"], "tags": ["env:dev"], "secrets": ["db"]}


def agent_cluster(org: Any, name: str = "edge", scope: Any = None) -> Cluster:
    return Cluster.objects.create(
        organization=org, name=name, mode=Cluster.Mode.AGENT, scope=scope or SCOPE
    )


def payloads(cluster: Cluster) -> list[dict[str, Any]]:
    return list(ChangeEvent.objects.filter(cluster=cluster).values_list("payload", flat=True))


class StandIn:
    """Applies every ``installation`` event of one cluster as the agent's report would
    record it: the row ``installed`` with ``applied_at`` (or ``failed`` with ``error``)."""

    def __init__(self, cluster: Cluster, error: str = "") -> None:
        self.cluster_id, self.error = cluster.pk, error
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        cursor = 0
        try:
            while not self.stop.is_set():
                for event in ChangeEvent.objects.filter(cluster_id=self.cluster_id, id__gt=cursor):
                    cursor = event.pk
                    if event.payload["kind"] == events.INSTALLATION:
                        self.apply(event.payload["installation"])
                time.sleep(0.05)
        finally:
            connection.close()

    def apply(self, installation_id: int) -> None:
        status = Installation.Status.FAILED if self.error else Installation.Status.INSTALLED
        Installation.objects.filter(pk=installation_id).update(
            status=status, last_error=self.error, applied_at=timezone.now()
        )

    def __enter__(self) -> StandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The types of the secrets whose values are read from Vault during the test."""
    seen: list[str] = []
    real = secret_values.reveal

    def reveal(**kwargs: Any) -> Any:
        seen.append(kwargs["row"].type)
        return real(**kwargs)

    monkeypatch.setattr(secret_values, "reveal", reveal)
    return seen


@pytest.fixture
def edge(vault: Any, personas: Any, settings: Any) -> Cluster:
    settings.AGENT_INSTALL_WAIT_SECONDS = 5
    return agent_cluster(personas.org)


def test_an_install_is_recorded_for_the_agent_and_answers_once_it_applied(
    edge, personas, clients, reads
):
    org = personas.org.pk
    create_secret(clients["member"], org, "db", "password", {"username": "u", "password": "p"})
    body = {"namespace": "team-a", "query": {"ids": [secret_id_for("db")]}, "ttl": 600}
    with StandIn(edge):
        started = time.monotonic()
        response = install(clients["member"], org, edge.pk, body)
        took = time.monotonic() - started
    assert response.status_code == 200, response.content
    assert response.json() == [
        {"name": "db", "sourcing": "env", "status": "installed", "namespace": "team-a"}
    ]
    assert took < 4
    item = Installation.objects.get()
    assert (item.cluster_id, item.namespace, item.kube_name, item.version) == (
        edge.pk,
        "team-a",
        "db",
        1,
    )
    assert item.status == "installed" and item.applied_at is not None
    assert item.keys == ["password", "username"] and item.installed_by == "mike"
    assert item.expires_at is not None and item.expires_at > timezone.now()
    assert payloads(edge) == [{"kind": "installation", "installation": item.pk}]
    audited = AuditEvent.objects.get(action="cluster.install")
    assert audited.detail["statuses"] == {"installed": 1}
    # No kubeconfig exists for the cluster and none was read: only the secret's own values
    # (the member's read when creating it) went through the values service.
    assert not SecretIndex.objects.filter(type="kubernetes").exists()
    assert "kubernetes" not in reads and edge.kubeconfig_secret_id == ""
    # The same install again: already applied as asked, no event, answered at once.
    again = install(clients["member"], org, edge.pk, body)
    assert [i["status"] for i in again.json()] == ["unchanged"]
    assert len(payloads(edge)) == 1


def test_an_install_the_agent_does_not_apply_in_time_is_pending_stating_the_wait(
    edge, personas, clients, settings
):
    settings.AGENT_INSTALL_WAIT_SECONDS = 0.5
    create_secret(clients["member"], personas.org.pk, "db", "password", {"username": "u"})
    started = time.monotonic()
    results = services.install(
        actor=personas.member,
        cluster=edge,
        namespace="team-a",
        query=services.InstallQuery(ids=[secret_id_for("db")]),
    )
    took = time.monotonic() - started
    assert 0.5 <= took < 3
    assert [(r.name, r.status) for r in results] == [("db", "pending")]
    assert results[0].error == (
        "Not applied by the cluster's agent within 0.5 s; it applies it when it next connects."
    )
    assert InstallResultSerializer(results, many=True).data[0]["status"] == "pending"
    assert Installation.objects.get().status == Installation.Status.PENDING


def test_a_failure_the_agent_reports_is_a_failed_item_with_its_error(edge, personas, clients):
    create_secret(clients["member"], personas.org.pk, "db", "password", {"username": "u"})
    with StandIn(edge, error="secrets is forbidden in team-a"):
        response = install(
            clients["member"],
            personas.org.pk,
            edge.pk,
            {"namespace": "team-a", "query": {"ids": [secret_id_for("db")]}},
        )
    assert response.json() == [
        {
            "name": "db",
            "sourcing": "env",
            "status": "failed",
            "namespace": "team-a",
            "error": "secrets is forbidden in team-a",
        }
    ]


def test_secrets_outside_the_clusters_scope_are_failed_items_and_not_recorded(
    edge, personas, clients
):
    org = personas.org.pk
    create_secret(clients["member"], org, "db", "password", {"username": "u"})
    create_secret(clients["member"], org, "tagged", "generic", {"k": "v"}, ["env:dev"])
    create_secret(clients["member"], org, "private", "generic", {"k": "v"}, ["env:prod"])
    ids = [secret_id_for(name) for name in ("db", "tagged", "private")]
    with StandIn(edge):
        inside = install(
            clients["member"], org, edge.pk, {"namespace": "team-a", "query": {"ids": ids}}
        ).json()
        outside_ns = install(
            clients["member"], org, edge.pk, {"namespace": "other", "query": {"ids": ids[:1]}}
        ).json()
    assert [(i["name"], i["status"]) for i in inside] == [
        ("db", "installed"),
        ("tagged", "installed"),
        ("private", "failed"),
    ]
    assert inside[2]["error"] == (
        "The secret private is outside the scope of cluster edge for namespace team-a: its "
        "agent may not receive it. Ask an admin to add the secret (by name or tag) and the "
        "namespace to the cluster's scope; nothing was recorded."
    )
    assert [i["status"] for i in outside_ns] == ["failed"]
    assert "outside the scope of cluster edge for namespace other" in outside_ns[0]["error"]
    recorded = Installation.objects.order_by("kube_name")
    assert [(i.namespace, i.kube_name) for i in recorded] == [
        ("team-a", "db"),
        ("team-a", "tagged"),
    ]
    assert len(payloads(edge)) == 2


def test_overwrite_merge_and_literal_values_are_refused_on_their_field(edge, personas, clients):
    org = personas.org.pk
    create_secret(clients["member"], org, "db", "password", {"username": "u"})
    overwrite = install(
        clients["admin"],
        org,
        edge.pk,
        {"namespace": "team-a", "query": {"ids": [secret_id_for("db")]}, "overwrite": True},
    )
    body = assert_problem(overwrite, 400, field="overwrite")
    assert "edge is an agent cluster" in " ".join(body["errors"]["overwrite"])
    one = f"{clusters_url(org)}/{edge.pk}/secrets/db"
    merged = clients["admin"].patch(one, {"namespace": "team-a"}, format="json")
    body = assert_problem(merged, 400, field="merge")
    assert "merging into an existing Secret is not available" in body["errors"]["merge"][0]
    literal = clients["member"].post(
        one, {"namespace": "team-a", "spec": {"mode": {"value": "prod"}}}, format="json"
    )
    assert_problem(literal, 400, field="spec.mode")
    assert not Installation.objects.exists() and not ChangeEvent.objects.exists()


def test_an_install_one_is_recorded_with_its_mapping_and_refused_out_of_scope(
    edge, personas, clients
):
    org = personas.org.pk
    create_secret(clients["member"], org, "db", "password", {"username": "u", "password": "p"})
    create_secret(clients["member"], org, "private", "generic", {"k": "v"})
    base = f"{clusters_url(org)}/{edge.pk}/secrets"
    with StandIn(edge):
        response = clients["member"].post(
            f"{base}/app-db",
            {
                "namespace": "team-a",
                "sourceSecretName": "db",
                "spec": {"DB_USER": {"source": "username"}},
                "workloads": [{"kind": "Deployment", "name": "web"}],
            },
            format="json",
        )
    assert response.status_code == 200, response.content
    assert response.json() == {"name": "app-db"}
    item = Installation.objects.get()
    assert (item.kube_name, item.secret_name, item.spec, item.keys) == (
        "app-db",
        "db",
        {"DB_USER": {"source": "username"}},
        ["DB_USER"],
    )
    assert item.workloads == [{"kind": "Deployment", "name": "web"}]
    assert payloads(edge) == [{"kind": "installation", "installation": item.pk}]
    refused = clients["member"].post(f"{base}/private", {"namespace": "team-a"}, format="json")
    body = assert_problem(refused, 400, field="sourceSecretName")
    assert "outside the scope of cluster edge" in body["errors"]["sourceSecretName"][0]
    assert Installation.objects.count() == 1


def test_an_install_one_the_agent_reports_failed_is_a_502_with_its_error(edge, personas, clients):
    create_secret(clients["member"], personas.org.pk, "db", "password", {"username": "u"})
    url = f"{clusters_url(personas.org.pk)}/{edge.pk}/secrets/db"
    with StandIn(edge, error="secrets is forbidden in team-a"):
        response = clients["member"].post(url, {"namespace": "team-a"}, format="json")
    body = assert_problem(response, 502)
    assert body["detail"] == (
        "The agent of cluster edge could not apply db: secrets is forbidden in team-a"
    )
    assert Installation.objects.get().status == Installation.Status.FAILED


def test_a_failure_midway_leaves_neither_rows_nor_events(edge, personas, clients, monkeypatch):
    create_secret(clients["member"], personas.org.pk, "db", "password", {"username": "u"})

    def broken(changes: Any) -> None:
        raise RuntimeError("the events table is gone")

    monkeypatch.setattr(events, "emit_many", broken)
    with pytest.raises(RuntimeError):
        services.install(
            actor=personas.member,
            cluster=edge,
            namespace="team-a",
            query=services.InstallQuery(ids=[secret_id_for("db")]),
        )
    assert not Installation.objects.exists() and not ChangeEvent.objects.exists()


def installed(edge: Cluster, personas: Any, clients: Any, ttl: int | None = None) -> Installation:
    """``db`` (tag env:dev) installed into team-a of the agent cluster and applied."""
    create_secret(
        clients["member"], personas.org.pk, "db", "password", {"username": "1"}, ["env:dev"]
    )
    body: dict[str, Any] = {"namespace": "team-a", "query": {"ids": [secret_id_for("db")]}}
    if ttl:
        body["ttl"] = ttl
    with StandIn(edge):
        response = install(clients["member"], personas.org.pk, edge.pk, body)
    assert response.json()[0]["status"] == "installed", response.content
    return Installation.objects.get()


def syncs(edge: Cluster, other: Cluster, pushed: Cluster) -> dict[str, SecretSync]:
    specs = {
        "by-name": (edge, {"secretName": "db"}, []),
        "by-tag": (edge, {"query": {"tag": "env:dev"}}, []),
        "by-tags": (other, {"query": {"type": "password", "tags": ["x", "env:dev"]}}, []),
        "other-type": (edge, {"query": {"type": "tls", "tag": "env:dev"}}, []),
        "using": (edge, {"secretName": "gone-name"}, [secret_id_for("db")]),
        "unrelated": (edge, {"secretName": "other"}, [secret_id_for("other")]),
        "pushed": (pushed, {"secretName": "db"}, []),
    }
    return {
        name: SecretSync.objects.create(
            cluster=cluster, namespace="team-a", name=name, spec=spec, target=name, secret_ids=ids
        )
        for name, (cluster, spec, ids) in specs.items()
    }


def sync_events(*clusters: Cluster) -> set[tuple[int, str]]:
    found = ChangeEvent.objects.filter(cluster__in=clusters, payload__kind=events.SYNC)
    return {(e.cluster_id, e.payload["name"]) for e in found}


def test_a_secret_update_makes_agent_copies_pending_and_tells_the_syncs_that_may_use_it(
    edge, personas, clients
):
    org = personas.org.pk
    item = installed(edge, personas, clients)
    other = agent_cluster(personas.org, "edge-2")
    pushed = Cluster.objects.create(
        organization=personas.org, name="push", kubeconfig_secret_id="x"
    )
    elsewhere = agent_cluster(personas.other_org, "edge")
    syncs(edge, other, pushed)
    SecretSync.objects.create(
        cluster=elsewhere, namespace="team-a", name="by-name", spec={"secretName": "db"}
    )
    before = ChangeEvent.objects.count()
    response = clients["member"].put(
        f"{secrets_url(org)}/{secret_id_for('db')}",
        {"values": {"username": "2"}, "tags": ["env:dev"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert [(i["cluster"], i["status"]) for i in response.json()["installations"]] == [
        ("edge", "pending")
    ]
    item.refresh_from_db()
    assert (item.status, item.version) == ("pending", 2)
    assert {"kind": "installation", "installation": item.pk} in payloads(edge)[1:]
    assert sync_events(edge, other, pushed, elsewhere) == {
        (edge.pk, "by-name"),
        (edge.pk, "by-tag"),
        (other.pk, "by-tags"),
        (edge.pk, "using"),
    }
    assert ChangeEvent.objects.count() == before + 5
    # No re-sync task: the server never contacts the agent cluster.
    assert queued() == 0


def test_a_secret_delete_removes_agent_copies_and_tells_the_syncs(edge, personas, clients):
    org = personas.org.pk
    installed(edge, personas, clients)
    other = agent_cluster(personas.org, "edge-2")
    pushed = Cluster.objects.create(
        organization=personas.org, name="push", kubeconfig_secret_id="x"
    )
    syncs(edge, other, pushed)
    response = clients["member"].delete(f"{secrets_url(org)}/{secret_id_for('db')}")
    assert response.status_code == 204, response.content
    assert not Installation.objects.exists()
    assert {"kind": "removal", "namespace": "team-a", "name": "db"} in payloads(edge)
    assert sync_events(edge, other) == {
        (edge.pk, "by-name"),
        (edge.pk, "by-tag"),
        (other.pk, "by-tags"),
        (edge.pk, "using"),
    }
    assert queued() == 0


def test_an_expired_agent_copy_is_forgotten_with_a_removal_event_and_failed_ones_left_to_the_agent(
    edge, personas, clients
):
    item = installed(edge, personas, clients, ttl=60)
    failed = Installation.objects.create(
        cluster=edge,
        namespace="team-b",
        secret_id=item.secret_id,
        secret_name="db",
        kube_name="db-copy",
        version=1,
        sourcing="env",
        status=Installation.Status.FAILED,
        last_error="quota",
    )
    now = timezone.now()
    # A failed agent copy alone is not due: the agent retries it.
    assert tasks.enqueue_due(now) == {"queued": 0}
    assert item.expires_at is not None
    later = item.expires_at + timedelta(seconds=1)
    assert tasks.enqueue_due(later) == {"queued": 1}
    assert sync.expire_and_retry(now=later) == {"expired": 1, "retried": 0, "failed": 0}
    assert list(Installation.objects.values_list("pk", flat=True)) == [failed.pk]
    assert payloads(edge)[-1] == {"kind": "removal", "namespace": "team-a", "name": "db"}
    failed.refresh_from_db()
    assert (failed.status, failed.last_error) == ("failed", "quota")


def test_an_uninstall_forgets_the_copy_and_tells_the_agent_at_once(edge, personas, clients):
    installed(edge, personas, clients)
    url = f"{clusters_url(personas.org.pk)}/{edge.pk}/secrets/db?namespace=team-a"
    started = time.monotonic()
    assert clients["member"].delete(url).status_code == 204
    assert time.monotonic() - started < 2
    assert not Installation.objects.exists()
    assert payloads(edge)[-1] == {"kind": "removal", "namespace": "team-a", "name": "db"}
    assert AuditEvent.objects.filter(action="cluster.uninstall").count() == 1
    assert_problem(clients["member"].delete(url), 404)


def test_the_check_and_namespace_suggestions_come_from_what_the_agent_reported(
    edge, personas, clients, settings
):
    settings.AGENT_HEARTBEAT_SECONDS = 30
    installed(edge, personas, clients)
    SecretSync.objects.create(cluster=edge, namespace="team-z", name="s", spec={})
    assert services.namespace_names(cluster=edge) == ["team-a", "team-z"]
    checked = services.cluster_check(cluster=edge)
    assert (checked.reachable, checked.last_error) == (False, "Its agent has not connected yet.")
    edge.agent_seen_at = timezone.now() - timedelta(seconds=59)
    assert services.cluster_check(cluster=edge).reachable is True
    edge.agent_seen_at = timezone.now() - timedelta(seconds=61)
    checked = services.cluster_check(cluster=edge)
    assert checked.reachable is False and "more than 60 s ago" in checked.last_error
    with pytest.raises(ConflictError, match="edge is an agent cluster"):
        services.cluster_kubeconfig(edge)


def test_a_kubeconfig_named_by_an_agent_cluster_is_never_read_nor_used(
    edge, personas, clients, reads, settings, request
):
    """Even with a kubeconfig secret pointed at (which no agent cluster has), nothing
    connects to its server and its values are never read."""
    settings.AGENT_INSTALL_WAIT_SECONDS = 0.2
    listener = Listener(http_answer("200 OK", '{"gitVersion": "v1.30.0"}'))
    request.addfinalizer(listener.close)
    org = personas.org.pk
    text = yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "main",
            "contexts": [{"name": "main", "context": {"cluster": "main", "user": "main"}}],
            "clusters": [{"name": "main", "cluster": {"server": listener.origin}}],
            "users": [{"name": "main", "user": {"token": "inline-token"}}],
        }
    )
    kubeconfig = create_secret(clients["admin"], org, "kc", "kubernetes", {"K8Sconfig": text})
    Cluster.objects.filter(pk=edge.pk).update(kubeconfig_secret_id=kubeconfig["id"])
    edge.refresh_from_db()
    reads.clear()
    item = installed(edge, personas, clients, ttl=60)
    services.cluster_check(cluster=edge)
    services.namespace_names(cluster=edge)
    updated = clients["member"].put(
        f"{secrets_url(org)}/{item.secret_id}", {"values": {"username": "2"}}, format="json"
    )
    assert updated.status_code == 200, updated.content
    assert Installation.objects.get().status == Installation.Status.PENDING
    assert item.expires_at is not None
    sync.expire_and_retry(now=item.expires_at + timedelta(seconds=1))
    assert not Installation.objects.exists()
    assert listener.connections == 0
    assert "kubernetes" not in reads


def test_deleting_an_agent_cluster_queues_no_removal(edge, personas, clients):
    installed(edge, personas, clients)
    response = clients["admin"].delete(f"{clusters_url(personas.org.pk)}/{edge.pk}")
    assert response.status_code == 204
    assert not Cluster.objects.exists() and not Installation.objects.exists()
    assert not ChangeEvent.objects.exists()
    assert not DBTaskResult.objects.exists()
