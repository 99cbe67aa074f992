"""Workloads told of a changed secret, and sync failures announced, against a real
kube-apiserver. No controller-manager runs, so no pod rolls: the tests read the stored pod
template, whose annotation is what makes Kubernetes roll the pods."""

from __future__ import annotations

import hashlib

import pytest

from audit.models import AuditEvent
from clusters.models import Installation
from clusters.sync import expire_and_retry
from clusters.workloads import RESTART_ANNOTATION
from notifications import services as notifications
from notifications.models import NotificationDelivery
from tests.helpers import assert_problem
from tests.test_cluster_install_one import missing, one_url
from tests.test_clusters import (
    clusters_url,
    create_secret,
    install,
    new_namespace,
    read_secret,
    register,
    secrets_url,
)
from tests.test_dashboard import signed_in
from tests.worker import queued, run_worker

# The worker (tests.worker) runs the re-syncs a write queues: it reads committed rows.
pytestmark = pytest.mark.django_db(transaction=True)

PATHS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}


@pytest.fixture
def cluster(vault, personas, clients, kube_control_plane):
    return register(clients["admin"], personas.org.pk, "dev", kube_control_plane.admin_kubeconfig())


def create_workload(cp, namespace: str, kind: str, name: str, secret: str) -> None:
    labels = {"app": name}
    spec: dict = {
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "image": "busybox",
                        "envFrom": [{"secretRef": {"name": secret}}],
                    }
                ]
            },
        },
    }
    if kind == "StatefulSet":
        spec["serviceName"] = name
    cp.ensure_namespace(namespace)
    cp.request(
        "POST",
        f"/apis/apps/v1/namespaces/{namespace}/{PATHS[kind]}",
        {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec},
    )


def restart_mark(cp, namespace: str, kind: str, name: str) -> str | None:
    obj = cp.request("GET", f"/apis/apps/v1/namespaces/{namespace}/{PATHS[kind]}/{name}")
    return (obj["spec"]["template"]["metadata"].get("annotations") or {}).get(RESTART_ANNOTATION)


def expected_mark(secret_id: str, version: int) -> str:
    return hashlib.sha256(f"{secret_id}:{version}".encode()).hexdigest()


def update(client, org_id: int, secret_id: str, values: dict, tags=()) -> dict:
    response = client.put(
        f"{secrets_url(org_id)}/{secret_id}", {"values": values, "tags": list(tags)}, format="json"
    )
    assert response.status_code == 200, response.content
    # The write only queued the re-sync of its installed copies; the worker runs it.
    assert {item["status"] for item in response.json()["installations"]} <= {"pending"}
    run_worker()
    return response.json()


def test_workloads_restart_when_the_secret_changes_and_not_otherwise(
    cluster, personas, clients, kube_control_plane
):
    org, cp, member = personas.org.pk, kube_control_plane, clients["member"]
    config = create_secret(member, org, "app-config", "generic", {"k": "v1"})
    other = create_secret(member, org, "unrelated", "generic", {"k": "x1"})
    namespace = new_namespace("roll")
    workloads = [("Deployment", "web"), ("StatefulSet", "db"), ("DaemonSet", "agent")]
    for kind, name in workloads:
        create_workload(cp, namespace, kind, name, "app-config")
    response = install(
        member,
        org,
        cluster["id"],
        {
            "namespace": namespace,
            "query": {"ids": [config["id"]]},
            "workloads": [{"kind": kind, "name": name} for kind, name in workloads],
        },
    )
    assert response.status_code == 200, response.content
    install(member, org, cluster["id"], {"namespace": namespace, "query": {"ids": [other["id"]]}})

    def marks() -> list[str | None]:
        return [restart_mark(cp, namespace, kind, name) for kind, name in workloads]

    # A first install restarts nothing: no pod had the old data.
    assert marks() == [None, None, None]
    # The same values again: a new version, the same data; a tag change; another secret.
    same = update(member, org, config["id"], {"k": "v1"})
    assert same["version"] == 2 and [i["status"] for i in same["installations"]] == ["pending"]
    assert Installation.objects.get(kube_name="app-config").version == 2
    update(member, org, config["id"], {"k": "v1"}, tags=["team:a"])
    update(member, org, other["id"], {"k": "x2"})
    assert marks() == [None, None, None]
    assert not AuditEvent.objects.filter(action="cluster.restart").exists()

    changed = update(member, org, config["id"], {"k": "v2"}, tags=["team:a"])
    mark = expected_mark(config["id"], changed["version"])
    assert marks() == [mark, mark, mark]
    event = AuditEvent.objects.get(action="cluster.restart")
    assert event.detail["workloads"] == ["Deployment/web", "StatefulSet/db", "DaemonSet/agent"]
    assert event.detail["statuses"] == {"restarted": 3, "failed": 0}
    assert (event.detail["namespace"], event.detail["secret"]) == (namespace, "app-config")

    listed = clients["viewer"].get(f"{clusters_url(org)}/{cluster['id']}/secrets").json()
    entry = next(e for e in listed if e["kubeName"] == "app-config")
    assert entry["workloads"] == [{"kind": k, "name": n} for k, n in workloads]
    assert entry["restartedFor"] == mark and entry["restartedAt"] and entry["restartError"] == ""
    plain = next(e for e in listed if e["kubeName"] == "unrelated")
    assert plain["workloads"] == [] and plain["restartedAt"] is None

    # Identical values once more: the annotation stays the one of the last change.
    update(member, org, config["id"], {"k": "v2"}, tags=["team:a"])
    assert marks() == [mark, mark, mark]
    assert AuditEvent.objects.filter(action="cluster.restart").count() == 1


def test_single_install_keeps_its_workloads_and_records_a_missing_one(
    cluster, personas, clients, kube_control_plane
):
    org, cp, member = personas.org.pk, kube_control_plane, clients["member"]
    created = create_secret(member, org, "api-key", "generic", {"KEY": "1"})
    namespace = new_namespace("roll")
    create_workload(cp, namespace, "Deployment", "api", "api-key-env")
    url = one_url(org, cluster["id"], "api-key-env")
    body = {
        "namespace": namespace,
        "sourceSecretName": "api-key",
        "workloads": [
            {"kind": "Deployment", "name": "api"},
            {"kind": "Deployment", "name": "gone"},
        ],
    }
    assert member.post(url, body, format="json").status_code == 200
    # The original's request shape (no workloads) keeps the workloads recorded.
    again = member.post(url, {"namespace": namespace, "sourceSecretName": "api-key"}, format="json")
    assert again.status_code == 200
    item = Installation.objects.get(kube_name="api-key-env")
    assert [w["name"] for w in item.workloads] == ["api", "gone"]

    written = update(member, org, created["id"], {"KEY": "2"})
    assert restart_mark(cp, namespace, "Deployment", "api") == expected_mark(
        created["id"], written["version"]
    )
    item.refresh_from_db()
    assert "gone" in item.restart_error and "404" in item.restart_error
    assert item.status == "installed"
    event = AuditEvent.objects.get(action="cluster.restart")
    assert event.detail["statuses"] == {"restarted": 1, "failed": 1}


@pytest.mark.parametrize(
    "workloads, field",
    [
        ([{"kind": "Pod", "name": "web"}], "workloads.0.kind"),
        ([{"kind": "Deployment", "name": "Bad_Name"}], "workloads.0.name"),
        ([{"kind": "Deployment", "name": "a"}, {"kind": "Deployment", "name": "a"}], "workloads"),
        ([{"kind": "Deployment"}], "workloads.0.name"),
        ("web", "workloads"),
    ],
)
def test_bad_workloads_are_400_and_nothing_is_installed(
    cluster, personas, clients, kube_control_plane, workloads, field
):
    org = personas.org.pk
    created = create_secret(clients["member"], org, "cfg", "generic", {"k": "v"})
    namespace = new_namespace("roll")
    many = install(
        clients["member"],
        org,
        cluster["id"],
        {"namespace": namespace, "query": {"ids": [created["id"]]}, "workloads": workloads},
    )
    assert_problem(many, 400, field=field)
    one = clients["member"].post(
        one_url(org, cluster["id"], "cfg"),
        {"namespace": namespace, "workloads": workloads},
        format="json",
    )
    assert_problem(one, 400, field=field)
    assert missing(kube_control_plane, namespace, "cfg")
    assert not Installation.objects.exists()


def test_a_failed_sync_is_announced_once(cluster, personas, clients, kube_control_plane):
    org, member = personas.org.pk, clients["member"]
    notifications.target_create(
        actor=personas.admin,
        organization=personas.org,
        kind="email",
        name="ops",
        emails=["ops@example.com"],
        events=["installation.sync_failed"],
    )
    created = create_secret(member, org, "db", "generic", {"k": "v1"})
    namespace = new_namespace("fail")
    install(member, org, cluster["id"], {"namespace": namespace, "query": {"ids": [created["id"]]}})
    # Someone takes the Secret over in the cluster: it is no longer ours to replace.
    obj = read_secret(kube_control_plane, namespace, "db")
    obj["metadata"]["labels"] = {}
    kube_control_plane.request("PUT", f"/api/v1/namespaces/{namespace}/secrets/db", obj)

    written = update(member, org, created["id"], {"k": "v2"})
    assert [i["status"] for i in written["installations"]] == ["pending"]
    item = Installation.objects.get(kube_name="db")
    assert item.status == "failed" and "does not manage" in item.last_error
    # The worker tries again after a backoff.
    assert queued() == 1
    delivery = NotificationDelivery.objects.get()
    assert delivery.event == "installation.sync_failed"
    assert delivery.detail["kubeName"] == "db" and delivery.detail["namespace"] == namespace
    assert delivery.detail["cluster"] == "dev" and "v2" not in str(delivery.detail)
    # The periodic retry fails again: no second notification.
    assert expire_and_retry()["failed"] == 1
    assert NotificationDelivery.objects.count() == 1


def test_dashboard_installs_with_workloads_and_shows_the_restart(
    cluster, personas, clients, kube_control_plane
):
    org, cp = personas.org.pk, kube_control_plane
    created = create_secret(clients["member"], org, "web-cfg", "generic", {"A": "1"})
    namespace = new_namespace("dash")
    create_workload(cp, namespace, "Deployment", "web", "web-cfg")
    browser = signed_in(personas, "member")
    url = f"/orgs/{org}/clusters/{cluster['id']}/install-one/"
    form = {"one-secret": "web-cfg", "one-namespace": namespace, "one-restart": "Pod/web"}
    bad = browser.post(url, form).content.decode()
    assert "Must be one of Deployment, StatefulSet, DaemonSet." in bad
    assert missing(cp, namespace, "web-cfg")
    assert (
        ">installed<"
        in browser.post(
            url, {**form, "one-restart": "Deployment/web"}, follow=True
        ).content.decode()
    )
    written = update(clients["member"], org, created["id"], {"A": "2"})
    html = browser.get(f"/orgs/{org}/clusters/{cluster['id']}/").content.decode()
    mark = expected_mark(created["id"], written["version"])
    assert "Deployment/web" in html and mark[:10] in html
    assert restart_mark(cp, namespace, "Deployment", "web") == mark
