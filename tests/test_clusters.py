"""Clusters and installing secrets, against a real etcd + kube-apiserver."""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
import time
from datetime import timedelta

import pytest
import yaml
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from clusters.models import Cluster, Installation
from clusters.sync import expire_and_retry
from clusters.tasks import resync_copies
from tests.helpers import assert_problem, check_access
from tests.worker import run_worker
from tools.devstack.pytest_plugin import free_port

pytestmark = pytest.mark.django_db

_ns = itertools.count()


def new_namespace(prefix: str = "build") -> str:
    return f"{prefix}-{int(time.time() * 1000) % 10**8}-{next(_ns)}"


def secrets_url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/secrets"


def clusters_url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/clusters"


def create_secret(client, org_id, name, type, values, tags=()):
    response = client.post(
        secrets_url(org_id) + "?validate=false",
        {"name": name, "type": type, "values": values, "tags": list(tags)},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def register(client, org_id, name, kubeconfig, validate=True):
    response = client.post(
        clusters_url(org_id) + ("" if validate else "?validate=false"),
        {"name": name, "kubeconfig": kubeconfig},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def read_secret(cp, namespace, name):
    return cp.request("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")


def decoded(obj) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in obj["data"].items()}


def install(client, org_id, cluster_id, body):
    return client.post(f"{clusters_url(org_id)}/{cluster_id}/secrets", body, format="json")


def put_foreign_secret(control_plane, namespace: str, name: str) -> None:
    """A Secret this product does not manage, created directly in the cluster."""
    control_plane.ensure_namespace(namespace)
    control_plane.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name},
            "stringData": {"k": "theirs"},
        },
    )


def installed_secret(clients, org_id, cluster, name):
    """A generic secret created and installed into a fresh namespace: (secret, namespace)."""
    created = create_secret(clients["member"], org_id, name, "generic", {"k": "v1"}, ["p"])
    namespace = new_namespace()
    install(
        clients["member"],
        org_id,
        cluster["id"],
        {"namespace": namespace, "query": {"ids": [created["id"]]}},
    )
    return created, namespace


@pytest.fixture
def cluster(vault, personas, clients, kube_control_plane):
    return register(clients["admin"], personas.org.pk, "dev", kube_control_plane.admin_kubeconfig())


def test_kubernetes_type_takes_yaml_or_base64_and_stores_yaml(
    vault, personas, clients, kube_control_plane
):
    text = kube_control_plane.admin_kubeconfig()
    admin = clients["admin"]
    plain = create_secret(admin, personas.org.pk, "kc-yaml", "kubernetes", {"K8Sconfig": text})
    encoded = base64.b64encode(text.encode()).decode()
    b64 = admin.post(
        secrets_url(personas.org.pk),
        {"name": "kc-b64", "type": "kubernetes", "values": {"K8Sconfig": encoded}},
        format="json",
    )
    assert b64.status_code == 201, b64.content
    for secret_id in (plain["id"], b64.json()["id"]):
        stored = admin.get(f"{secrets_url(personas.org.pk)}/{secret_id}").json()["values"][
            "K8Sconfig"
        ]
        assert yaml.safe_load(stored) == yaml.safe_load(text)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: "clusters: [unclosed", "YAML"),
        (lambda c: yaml.safe_dump({**c, "current-context": "nope"}), "current-context"),
        (lambda c: yaml.safe_dump({**c, "users": [{"name": "admin", "user": {}}]}), "credentials"),
    ],
)
def test_bad_kubeconfig_is_400_naming_the_field(
    vault, personas, clients, kube_control_plane, mutate, message
):
    config = yaml.safe_load(kube_control_plane.admin_kubeconfig())
    response = clients["admin"].post(
        secrets_url(personas.org.pk),
        {"name": "bad-kc", "type": "kubernetes", "values": {"K8Sconfig": mutate(config)}},
        format="json",
    )
    body = assert_problem(response, 400, field="values.K8Sconfig")
    assert message in body["errors"]["values.K8Sconfig"][0]


def test_unreachable_kubeconfig_fails_validation_unless_skipped(
    vault, personas, clients, kube_control_plane
):
    dead = kube_control_plane.admin_kubeconfig().replace(
        kube_control_plane.server, f"https://127.0.0.1:{free_port()}"
    )
    body = {"name": "dead-kc", "type": "kubernetes", "values": {"K8Sconfig": dead}}
    assert_problem(
        clients["admin"].post(secrets_url(personas.org.pk), body, format="json"),
        400,
        field="values.K8Sconfig",
    )
    skipped = clients["admin"].post(
        secrets_url(personas.org.pk) + "?validate=false", body, format="json"
    )
    assert skipped.status_code == 201


def test_register_from_kubeconfig_checks_version_and_stores_a_tagged_secret(
    cluster, personas, clients
):
    assert cluster["reachable"] is True and cluster["serverVersion"].startswith("v1.")
    secret = clients["viewer"].get(f"{secrets_url(personas.org.pk)}/{cluster['secretId']}").json()
    assert secret["name"] == "dev-kubeconfig" and secret["type"] == "kubernetes"
    assert secret["tags"] == ["cluster:dev"]
    listed = clients["viewer"].get(clusters_url(personas.org.pk)).json()
    assert [c["name"] for c in listed] == ["dev"]
    checked = (
        clients["member"].get(f"{clusters_url(personas.org.pk)}/{cluster['id']}?check=true").json()
    )
    assert checked["reachable"] is True and checked["checkedAt"]


def test_register_from_secret_id_and_refuse_wrong_type(
    vault, personas, clients, kube_control_plane
):
    kc = create_secret(
        clients["admin"],
        personas.org.pk,
        "prod-kc",
        "kubernetes",
        {"K8Sconfig": kube_control_plane.admin_kubeconfig()},
    )
    ok = clients["admin"].post(
        clusters_url(personas.org.pk), {"name": "prod", "secretId": kc["id"]}, format="json"
    )
    assert ok.status_code == 201 and ok.json()["secretId"] == kc["id"]
    other = create_secret(clients["admin"], personas.org.pk, "not-kc", "generic", {"a": "b"})
    wrong = clients["admin"].post(
        clusters_url(personas.org.pk), {"name": "x", "secretId": other["id"]}, format="json"
    )
    assert_problem(wrong, 400, field="secretId")
    theirs = create_secret(
        clients["outsider"],
        personas.other_org.pk,
        "their-kc",
        "kubernetes",
        {"K8Sconfig": kube_control_plane.admin_kubeconfig()},
    )
    foreign = clients["admin"].post(
        clusters_url(personas.org.pk), {"name": "y", "secretId": theirs["id"]}, format="json"
    )
    assert_problem(foreign, 400, field="secretId")
    dup = clients["admin"].post(
        clusters_url(personas.org.pk), {"name": "prod", "secretId": kc["id"]}, format="json"
    )
    assert_problem(dup, 409)


def test_reference_install_call_answers_name_and_sourcing(
    cluster, personas, clients, kube_control_plane
):
    org = personas.org.pk
    create_secret(
        clients["member"], org, "my-tls-cert", "tls", {"hosts": "localhost"}, ["repo:pipeline"]
    )
    create_secret(
        clients["member"], org, "other-tls", "tls", {"hosts": "localhost"}, ["repo:other"]
    )
    create_secret(clients["member"], org, "db", "password", {"username": "u"}, ["repo:pipeline"])
    namespace = new_namespace()
    response = install(
        clients["member"],
        org,
        cluster["id"],
        {"namespace": namespace, "query": {"type": "tls", "tag": "repo:pipeline"}},
    )
    assert response.status_code == 200, response.content
    assert response.json() == [
        {"name": "my-tls-cert", "sourcing": "volume", "status": "installed", "namespace": namespace}
    ]
    obj = read_secret(kube_control_plane, namespace, "my-tls-cert")
    assert obj["type"] == "kubernetes.io/tls"
    secret_id = hashlib.sha256(b"my-tls-cert").hexdigest()
    values = clients["member"].get(f"{secrets_url(org)}/{secret_id}").json()["values"]
    data = decoded(obj)
    # Everything but the CA's private key, which stays in Vault.
    assert set(data) == {*values, "tls.crt", "tls.key", "ca.crt"} - {"caKey"}
    assert data["tls.crt"] == values["serverCert"] and data["ca.crt"] == values["caCert"]
    assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "pipeline-secrets"
    annotations = obj["metadata"]["annotations"]
    assert annotations["secrets.pipeline.io/version"] == "1"
    assert len(annotations["secrets.pipeline.io/secret-id"]) == 64
    assert annotations["secrets.pipeline.io/installed-at"]
    listed = clients["viewer"].get(f"{clusters_url(org)}/{cluster['id']}/secrets").json()
    assert [
        (i["name"], i["kubeName"], i["namespace"], i["installedVersion"], i["sourcing"])
        for i in listed
    ] == [("my-tls-cert", "my-tls-cert", namespace, 1, "volume")]
    assert set(listed[0]["values"]) == set(values) and set(listed[0]["values"].values()) == {
        "<hidden>"
    }


def test_native_types_and_keys(cluster, personas, clients, kube_control_plane):
    org = personas.org.pk
    create_secret(
        clients["member"],
        org,
        "pull",
        "registry",
        {"server": "registry.local:5000", "username": "ci", "password": "pw"},
        ["native"],
    )
    create_secret(
        clients["member"], org, "basic", "password", {"username": "u", "password": "p"}, ["native"]
    )
    create_secret(
        clients["member"],
        org,
        "web-auth",
        "htpasswd",
        {"username": "u", "password": "p"},
        ["native"],
    )
    create_secret(clients["member"], org, "deploy-key", "ssh", {"user": "git"}, ["native"])
    create_secret(clients["member"], org, "cfg", "generic", {"A": "1", "B": "2"}, ["native"])
    namespace = new_namespace()
    response = install(
        clients["member"],
        org,
        cluster["id"],
        {"namespace": namespace, "query": {"tags": ["native"]}},
    )
    assert {r["name"]: (r["status"], r["sourcing"]) for r in response.json()} == {
        "pull": ("installed", "volume"),
        "basic": ("installed", "env"),
        "web-auth": ("installed", "volume"),
        "deploy-key": ("installed", "volume"),
        "cfg": ("installed", "env"),
    }
    pull = read_secret(kube_control_plane, namespace, "pull")
    assert pull["type"] == "kubernetes.io/dockerconfigjson"
    auths = json.loads(decoded(pull)[".dockerconfigjson"])["auths"]["registry.local:5000"]
    assert base64.b64decode(auths["auth"]).decode() == "ci:pw"
    basic = read_secret(kube_control_plane, namespace, "basic")
    assert basic["type"] == "kubernetes.io/basic-auth" and decoded(basic) == {
        "username": "u",
        "password": "p",
    }
    assert set(decoded(read_secret(kube_control_plane, namespace, "web-auth"))) == {"htpasswd"}
    ssh = read_secret(kube_control_plane, namespace, "deploy-key")
    assert ssh["type"] == "kubernetes.io/ssh-auth" and "ssh-privatekey" in decoded(ssh)
    cfg = read_secret(kube_control_plane, namespace, "cfg")
    assert cfg["type"] == "Opaque" and decoded(cfg) == {"A": "1", "B": "2"}


def test_foreign_secret_is_not_overwritten_unless_asked(
    cluster, personas, clients, kube_control_plane
):
    org = personas.org.pk
    create_secret(clients["member"], org, "shared", "generic", {"k": "ours"}, ["x"])
    namespace = new_namespace()
    put_foreign_secret(kube_control_plane, namespace, "shared")
    refused = install(
        clients["member"], org, cluster["id"], {"namespace": namespace, "query": {"tag": "x"}}
    )
    [item] = refused.json()
    assert item["status"] == "failed" and "overwrite" in item["error"]
    assert decoded(read_secret(kube_control_plane, namespace, "shared")) == {"k": "theirs"}
    assert not Installation.objects.exists()
    forced = install(
        clients["admin"],
        org,
        cluster["id"],
        {"namespace": namespace, "query": {"tag": "x"}, "overwrite": True},
    )
    assert forced.json()[0]["status"] == "updated"
    assert decoded(read_secret(kube_control_plane, namespace, "shared")) == {"k": "ours"}
    again = install(
        clients["member"], org, cluster["id"], {"namespace": namespace, "query": {"tag": "x"}}
    )
    assert again.json()[0]["status"] == "unchanged"


@pytest.mark.django_db(transaction=True)
def test_update_propagates_to_installed_copies(cluster, personas, clients, kube_control_plane):
    org = personas.org.pk
    created, namespace = installed_secret(clients, org, cluster, "app-config")
    updated = clients["member"].put(
        f"{secrets_url(org)}/{created['id']}", {"values": {"k": "v2"}, "tags": ["p"]}, format="json"
    )
    assert updated.status_code == 200
    assert updated.json()["installations"] == [
        {
            "name": "app-config",
            "sourcing": "env",
            "status": "pending",
            "namespace": namespace,
            "cluster": "dev",
            "kubeName": "app-config",
        }
    ]
    # The request only queued the re-sync: the copy follows when the worker runs it.
    assert decoded(read_secret(kube_control_plane, namespace, "app-config")) == {"k": "v1"}
    assert Installation.objects.get(kube_name="app-config").status == "pending"
    assert run_worker() == 1
    obj = read_secret(kube_control_plane, namespace, "app-config")
    assert (
        decoded(obj) == {"k": "v2"}
        and obj["metadata"]["annotations"]["secrets.pipeline.io/version"] == "2"
    )
    item = Installation.objects.get(kube_name="app-config")
    assert (item.version, item.status) == (2, "installed")
    # Run again (a retry, a duplicate): the copy is current, nothing is written.
    resync_copies.enqueue(cluster_id=item.cluster_id, secret_id=item.secret_id)
    assert run_worker() == 1
    assert (
        read_secret(kube_control_plane, namespace, "app-config")["metadata"]["resourceVersion"]
        == obj["metadata"]["resourceVersion"]
    )


def test_ttl_expiry_removes_the_secret(cluster, personas, clients, kube_control_plane):
    org = personas.org.pk
    create_secret(clients["member"], org, "short", "generic", {"k": "v"}, ["ttl"])
    namespace = new_namespace()
    response = install(
        clients["member"],
        org,
        cluster["id"],
        {"namespace": namespace, "query": {"tag": "ttl"}, "ttl": 1},
    )
    assert response.json()[0]["status"] == "installed"
    expires_at = Installation.objects.get().expires_at
    assert expires_at is not None
    assert expires_at - timezone.now() <= timedelta(seconds=1)
    # Not yet due: nothing is removed.
    assert expire_and_retry(now=expires_at - timedelta(milliseconds=1))["expired"] == 0
    assert decoded(read_secret(kube_control_plane, namespace, "short")) == {"k": "v"}
    # Due: the periodic job removes it.
    assert expire_and_retry(now=expires_at) == {"expired": 1, "retried": 0, "failed": 0}
    with pytest.raises(Exception) as info:
        read_secret(kube_control_plane, namespace, "short")
    assert getattr(info.value, "status", None) == 404
    assert not Installation.objects.exists()
    expired = AuditEvent.objects.get(action="cluster.uninstall")
    assert expired.actor == "system" and expired.detail == {
        "namespace": namespace,
        "secret": "short",
    }
    installed = AuditEvent.objects.get(action="cluster.install")
    assert installed.actor == "mike" and installed.detail["statuses"] == {"installed": 1}
    # The command the periodic job runs does the same with the current time.
    out = io.StringIO()
    call_command("sync_installations", stdout=out)
    assert out.getvalue().strip() == "expired 0, retried 0, failed 0"


def test_role_restricted_credentials_fail_per_item_outside_their_namespace(
    vault, personas, clients, kube_control_plane
):
    allowed = new_namespace("team")
    kubeconfig = kube_control_plane.restricted_kubeconfig(allowed, "ci-bot")
    limited = register(clients["admin"], personas.org.pk, "limited", kubeconfig, validate=False)
    create_secret(clients["member"], personas.org.pk, "token", "generic", {"t": "x"}, ["r"])
    ok = install(
        clients["member"],
        personas.org.pk,
        limited["id"],
        {"namespace": allowed, "query": {"tag": "r"}},
    )
    assert ok.json()[0]["status"] == "installed"
    other = new_namespace("other")
    kube_control_plane.ensure_namespace(other)
    denied = install(
        clients["member"],
        personas.org.pk,
        limited["id"],
        {"namespace": other, "query": {"tag": "r"}},
    )
    assert denied.status_code == 200
    [item] = denied.json()
    assert item["status"] == "failed" and "forbidden" in item["error"].lower()
    assert Installation.objects.filter(namespace=other).count() == 0


def test_unreachable_cluster_is_502_naming_it_and_records_nothing(
    vault, personas, clients, kube_control_plane
):
    dead = kube_control_plane.admin_kubeconfig().replace(
        kube_control_plane.server, f"https://127.0.0.1:{free_port()}"
    )
    gone = register(clients["admin"], personas.org.pk, "gone", dead, validate=False)
    assert gone["reachable"] is False and gone["lastError"]
    create_secret(clients["member"], personas.org.pk, "s", "generic", {"k": "v"}, ["u"])
    response = install(
        clients["member"],
        personas.org.pk,
        gone["id"],
        {"namespace": new_namespace(), "query": {"tag": "u"}},
    )
    body = assert_problem(response, 502)
    assert "gone" in body["detail"]
    assert not Installation.objects.exists()


def test_bad_install_requests(cluster, personas, clients):
    org = personas.org.pk
    theirs = create_secret(
        clients["outsider"], personas.other_org.pk, "theirs", "generic", {"k": "v"}
    )
    url_ok = cluster["id"]
    cases = [
        ({"namespace": "Bad_NS", "query": {"type": "generic"}}, "namespace"),
        ({"namespace": "ok", "query": {}}, "query"),
        ({"namespace": "ok", "query": {"ids": ["0" * 64]}}, "query.ids"),
        ({"namespace": "ok", "query": {"ids": [theirs["id"]]}}, "query.ids"),
        ({"namespace": "ok", "query": {"type": "generic"}, "ttl": 0}, "ttl"),
        ({"query": {"type": "generic"}}, "namespace"),
    ]
    for body, field in cases:
        assert_problem(install(clients["member"], org, url_ok, body), 400, field=field)
    other_cluster = register(
        clients["outsider"],
        personas.other_org.pk,
        "theirs",
        _admin_kc(clients, org, cluster),
        validate=False,
    )
    assert_problem(
        install(
            clients["member"],
            org,
            other_cluster["id"],
            {"namespace": "x", "query": {"type": "generic"}},
        ),
        404,
    )


def _admin_kc(clients, org, cluster):
    secret = clients["admin"].get(f"{secrets_url(org)}/{cluster['secretId']}").json()
    return secret["values"]["K8Sconfig"]


@pytest.mark.django_db(transaction=True)
def test_uninstall_and_cluster_delete_and_kubeconfig_secret_protection(
    cluster, personas, clients, kube_control_plane
):
    org = personas.org.pk
    create_secret(clients["member"], org, "one", "generic", {"k": "1"}, ["d"])
    create_secret(clients["member"], org, "two", "generic", {"k": "2"}, ["d"])
    namespace = new_namespace()
    install(clients["member"], org, cluster["id"], {"namespace": namespace, "query": {"tag": "d"}})
    base = f"{clusters_url(org)}/{cluster['id']}/secrets"
    assert clients["member"].delete(f"{base}/one?namespace={namespace}").status_code == 204
    with pytest.raises(Exception) as info:
        read_secret(kube_control_plane, namespace, "one")
    assert getattr(info.value, "status", None) == 404
    assert_problem(clients["member"].delete(f"{base}/one?namespace={namespace}"), 404)
    assert_problem(clients["member"].delete(f"{base}/two?namespace=Bad_NS"), 400, field="namespace")
    kc_url = f"{secrets_url(org)}/{cluster['secretId']}"
    assert_problem(clients["admin"].delete(kc_url), 409)
    assert clients["admin"].delete(f"{clusters_url(org)}/{cluster['id']}").status_code == 204
    # The cluster is gone at once; its copy is removed by the worker, through the
    # kubeconfig secret, which stays.
    assert not Installation.objects.exists() and not Cluster.objects.exists()
    assert decoded(read_secret(kube_control_plane, namespace, "two")) == {"k": "2"}
    assert run_worker() == 1
    with pytest.raises(Exception) as removed:
        read_secret(kube_control_plane, namespace, "two")
    assert getattr(removed.value, "status", None) == 404
    assert clients["admin"].delete(kc_url).status_code == 204


def test_every_cluster_endpoint_by_role(cluster, personas, clients, kube_control_plane):
    org = personas.org.pk
    kc = _admin_kc(clients, org, cluster)
    check_access(clients, "get", clusters_url(org), allowed=("admin", "member", "viewer"), ok=200)
    check_access(
        clients,
        "post",
        clusters_url(org) + "?validate=false",
        allowed=("admin",),
        ok=201,
        make_body=lambda p: {"name": f"c-{p}", "kubeconfig": kc},
    )
    detail = f"{clusters_url(org)}/{cluster['id']}"
    check_access(clients, "get", detail, allowed=("admin", "member", "viewer"), ok=200)
    create_secret(clients["member"], org, "r", "generic", {"k": "v"}, ["role"])
    namespace = new_namespace()
    check_access(
        clients,
        "post",
        f"{detail}/secrets",
        allowed=("admin", "member"),
        ok=200,
        body={"namespace": namespace, "query": {"tag": "role"}},
    )
    check_access(clients, "get", f"{detail}/secrets", allowed=("admin", "member", "viewer"), ok=200)
    for persona, code in (("anonymous", 401), ("outsider", 404), ("viewer", 403)):
        assert (
            clients[persona].delete(f"{detail}/secrets/r?namespace={namespace}").status_code == code
        )
    assert clients["member"].delete(f"{detail}/secrets/r?namespace={namespace}").status_code == 204
    extra = Cluster.objects.get(name="c-admin")
    for persona, code in (("anonymous", 401), ("outsider", 404), ("viewer", 403), ("member", 403)):
        assert clients[persona].delete(f"{clusters_url(org)}/{extra.pk}").status_code == code
    assert clients["admin"].delete(f"{clusters_url(org)}/{extra.pk}").status_code == 204


def test_partial_failure_keeps_the_successes_installed_and_recorded(
    cluster, personas, clients, kube_control_plane
):
    org = personas.org.pk
    create_secret(clients["member"], org, "taken", "generic", {"k": "ours"}, ["mix"])
    create_secret(clients["member"], org, "free", "generic", {"k": "ours"}, ["mix"])
    namespace = new_namespace()
    kube_control_plane.ensure_namespace(namespace)
    kube_control_plane.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/secrets",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "taken"}},
    )
    response = install(
        clients["member"], org, cluster["id"], {"namespace": namespace, "query": {"tag": "mix"}}
    )
    assert response.status_code == 200
    by_name = {item["name"]: item for item in response.json()}
    assert by_name["free"]["status"] == "installed"
    assert by_name["taken"]["status"] == "failed" and by_name["taken"]["error"]
    assert decoded(read_secret(kube_control_plane, namespace, "free")) == {"k": "ours"}
    assert list(Installation.objects.values_list("kube_name", flat=True)) == ["free"]


@pytest.mark.django_db(transaction=True)
def test_a_tag_change_refreshes_the_installed_copies(
    cluster, personas, clients, kube_control_plane
):
    org = personas.org.pk
    created, namespace = installed_secret(clients, org, cluster, "tagged")
    url = f"{secrets_url(org)}/{created['id']}/tags"
    for call, version in ((clients["member"].put, "2"), (clients["member"].delete, "3")):
        assert call(f"{url}/team:web").status_code in (200, 204)
        assert run_worker() == 1
        obj = read_secret(kube_control_plane, namespace, "tagged")
        assert obj["metadata"]["annotations"]["secrets.pipeline.io/version"] == version
        assert str(Installation.objects.get(kube_name="tagged").version) == version
