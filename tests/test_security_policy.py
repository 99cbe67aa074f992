"""The one policy, replayed against the real stack (OpenBao, kube-apiserver): a member does
not copy a cluster's credentials (``kubernetes``, ``pkecert`` values) into a namespace by any
install path, and acts only inside the cluster's namespace rule (installs, uninstalls,
workloads named to restart); admins may; a token capped at member is a member."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from clusters.models import Cluster, Installation
from orgs import services as org_services
from secrets_app.models import SecretIndex
from tests.helpers import assert_problem
from tests.schema_check import CheckedAPIClient
from tests.test_cluster_install_one import one_url
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
from tests.test_workload_restarts import create_workload, restart_mark

pytestmark = pytest.mark.django_db

KUBE_SYSTEM = "kube-system"


@pytest.fixture
def cluster(vault, personas, clients, kube_control_plane) -> dict[str, Any]:
    return register(clients["admin"], personas.org.pk, "dev", kube_control_plane.admin_kubeconfig())


@pytest.fixture
def pke(cluster, personas, clients) -> dict[str, Any]:
    """A pkecert secret (its CA keys generated), created by the admin."""
    return create_secret(clients["admin"], personas.org.pk, "pke-cas", "pkecert", {}, ["ca"])


def capped_client(personas, role: str) -> APIClient:
    """The admin's own token, capped at ``role``."""
    _, raw = org_services.token_create(user=personas.admin, name=f"capped-{role}", max_role=role)
    client = CheckedAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def namespace_secrets(cp, namespace: str) -> list[dict[str, Any]]:
    """Every Secret the apiserver holds in ``namespace`` (none when it does not exist)."""
    return list(cp.request("GET", f"/api/v1/namespaces/{namespace}/secrets").get("items") or [])


def holds_credentials(cp, namespace: str, needles: list[str]) -> bool:
    """Whether any Secret of ``namespace`` carries any of ``needles`` in its data."""
    for obj in namespace_secrets(cp, namespace):
        for raw in (obj.get("data") or {}).values():
            text = base64.b64decode(raw).decode(errors="replace")
            if any(needle in text for needle in needles):
                return True
    return False


def kubeconfig_needles(cp) -> list[str]:
    """Lines of the admin kubeconfig that only a copy of it would hold."""
    lines = [line.strip() for line in cp.admin_kubeconfig().splitlines()]
    return [line for line in lines if len(line) > 40]


def the_cluster(cluster: dict[str, Any]) -> Cluster:
    return Cluster.objects.get(pk=cluster["id"])


# --------------------------------------------------------------------------- finding 1


@pytest.mark.parametrize("kind", ["kubernetes", "pkecert"])
def test_member_batch_install_by_type_copies_no_credential_values(
    kind, cluster, pke, personas, clients, kube_control_plane
):
    namespace = new_namespace("steal")
    response = install(
        clients["member"],
        personas.org.pk,
        cluster["id"],
        {"namespace": namespace, "query": {"type": kind}},
    )
    assert response.status_code == 200, response.content
    items = response.json()
    assert items and all(item["status"] == "failed" for item in items)
    assert all("needs the admin role" in item["error"] for item in items)
    assert namespace_secrets(kube_control_plane, namespace) == []
    assert not Installation.objects.filter(namespace=namespace).exists()


def test_member_batch_install_by_tag_copies_the_ordinary_secrets_only(
    cluster, personas, clients, kube_control_plane
):
    org = personas.org.pk
    create_secret(
        clients["member"], org, "app-token", "generic", {"T": "ordinary"}, ["cluster:dev"]
    )
    namespace = new_namespace("mixed")
    response = install(
        clients["member"],
        org,
        cluster["id"],
        {"namespace": namespace, "query": {"tag": "cluster:dev"}},
    )
    by_name = {item["name"]: item for item in response.json()}
    assert by_name["app-token"]["status"] == "installed"
    assert by_name["dev-kubeconfig"]["status"] == "failed"
    names = {obj["metadata"]["name"] for obj in namespace_secrets(kube_control_plane, namespace)}
    assert names == {"app-token"}
    assert not holds_credentials(
        kube_control_plane, namespace, kubeconfig_needles(kube_control_plane)
    )


@pytest.mark.parametrize("source", ["dev-kubeconfig", "pke-cas"])
def test_member_single_install_of_a_credential_secret_is_403_and_writes_nothing(
    source, cluster, pke, personas, clients, kube_control_plane
):
    namespace = new_namespace("one")
    response = clients["member"].post(
        one_url(personas.org.pk, cluster["id"], "stolen"),
        {"namespace": namespace, "sourceSecretName": source},
        format="json",
    )
    assert_problem(response, 403)
    assert namespace_secrets(kube_control_plane, namespace) == []
    assert not Installation.objects.exists()
    assert not AuditEvent.objects.filter(action="secret.read").exists()


def test_admin_still_installs_credential_secrets(
    cluster, pke, personas, clients, kube_control_plane
):
    namespace = new_namespace("admin")
    response = install(
        clients["admin"],
        personas.org.pk,
        cluster["id"],
        {"namespace": namespace, "query": {"type": "kubernetes"}},
    )
    assert [item["status"] for item in response.json()] == ["installed"]
    assert holds_credentials(kube_control_plane, namespace, kubeconfig_needles(kube_control_plane))
    one = clients["admin"].post(
        one_url(personas.org.pk, cluster["id"], "cas"),
        {"namespace": namespace, "sourceSecretName": "pke-cas"},
        format="json",
    )
    assert one.status_code == 200, one.content
    assert "caKey" in read_secret(kube_control_plane, namespace, "cas")["data"]


def test_dashboard_install_paths_refuse_a_member_the_kubeconfig(
    cluster, personas, clients, kube_control_plane
):
    dash = signed_in(personas, "member")
    org, cid = personas.org.pk, cluster["id"]
    row = SecretIndex.objects.get(name="dev-kubeconfig")
    namespace = new_namespace("dash")
    page = f"/orgs/{org}/clusters/{cid}/"
    # The picker shows the kubeconfig secret without offering it.
    preview = dash.get(page + "install/preview/", {"type": "kubernetes"}).content.decode()
    assert "dev-kubeconfig" in preview and f'value="{row.secret_id}"' not in preview
    # The install form, with the id typed in anyway.
    picked = dash.post(
        page + "install/", {"namespace": namespace, "ids": [row.secret_id]}, follow=True
    )
    assert ">failed<" in picked.content.decode() and "needs the admin role" in (
        picked.content.decode()
    )
    # Installing it as one named Secret.
    one = dash.post(
        page + "install-one/",
        {"one-secret": "dev-kubeconfig", "one-name": "stolen", "one-namespace": namespace},
    )
    assert one.status_code in (400, 403) and "admin role" in one.content.decode()
    # The secrets list's bulk install.
    bulk = dash.post(
        f"/orgs/{org}/clusters/bulk-install/",
        {"id": [row.secret_id], "confirm": "1", "cluster": str(cid), "namespace": namespace},
        follow=True,
    )
    assert ">failed<" in bulk.content.decode()
    assert namespace_secrets(kube_control_plane, namespace) == []
    assert not Installation.objects.filter(namespace=namespace).exists()


# --------------------------------------------------------------------------- finding 9


def test_member_install_into_kube_system_is_403_admin_allowed(
    cluster, personas, clients, kube_control_plane
):
    org = personas.org.pk
    name = new_namespace("sys-token")
    create_secret(clients["member"], org, name, "generic", {"T": "x"}, [name])
    body = {"namespace": KUBE_SYSTEM, "query": {"tag": name}}
    refused = install(clients["member"], org, cluster["id"], body)
    problem = assert_problem(refused, 403)
    assert "namespace" in problem["detail"] and KUBE_SYSTEM in problem["detail"]
    one = clients["member"].post(
        one_url(org, cluster["id"], name), {"namespace": KUBE_SYSTEM}, format="json"
    )
    assert_problem(one, 403)
    present = {o["metadata"]["name"] for o in namespace_secrets(kube_control_plane, KUBE_SYSTEM)}
    assert name not in present
    allowed = install(clients["admin"], org, cluster["id"], body)
    assert [item["status"] for item in allowed.json()] == ["installed"]
    assert read_secret(kube_control_plane, KUBE_SYSTEM, name)["metadata"]["name"] == name
    # Uninstalling it there is the admin's too.
    gone = clients["member"].delete(
        f"{one_url(org, cluster['id'], name)}?namespace={KUBE_SYSTEM}", format="json"
    )
    assert_problem(gone, 403)
    assert read_secret(kube_control_plane, KUBE_SYSTEM, name)["metadata"]["name"] == name
    removed = clients["admin"].delete(
        f"{one_url(org, cluster['id'], name)}?namespace={KUBE_SYSTEM}"
    )
    assert removed.status_code == 204


def test_member_naming_coredns_in_kube_system_restarts_nothing(
    cluster, personas, clients, kube_control_plane
):
    cp, org = kube_control_plane, personas.org.pk
    existing = cp.request("GET", f"/apis/apps/v1/namespaces/{KUBE_SYSTEM}/deployments")["items"]
    if "coredns" not in {d["metadata"]["name"] for d in existing}:
        create_workload(cp, KUBE_SYSTEM, "Deployment", "coredns", "coredns-config")
    before = restart_mark(cp, KUBE_SYSTEM, "Deployment", "coredns")
    name = new_namespace("dns")
    create_secret(clients["member"], org, name, "generic", {"T": "one"}, [name])
    workloads = [{"kind": "Deployment", "name": "coredns"}]
    batch = install(
        clients["member"],
        org,
        cluster["id"],
        {"namespace": KUBE_SYSTEM, "query": {"tag": name}, "workloads": workloads},
    )
    assert_problem(batch, 403)
    one = clients["member"].post(
        one_url(org, cluster["id"], name),
        {"namespace": KUBE_SYSTEM, "workloads": workloads},
        format="json",
    )
    assert "workloads" in assert_problem(one, 403)["detail"]
    assert restart_mark(cp, KUBE_SYSTEM, "Deployment", "coredns") == before
    assert not Installation.objects.filter(namespace=KUBE_SYSTEM).exists()
    assert not AuditEvent.objects.filter(action="cluster.restart").exists()


def test_namespace_rule_is_set_by_admins_and_binds_members(
    cluster, personas, clients, kube_control_plane
):
    org, cid = personas.org.pk, cluster["id"]
    rule_url = f"{clusters_url(org)}/{cid}/namespace-rule"
    default = {"allow": ["*"], "deny": ["kube-system", "kube-public", "kube-node-lease"]}
    assert clients["viewer"].get(rule_url).json() == default
    team = {"allow": ["team-*"], "deny": ["team-secret"]}
    assert_problem(clients["member"].put(rule_url, team, format="json"), 403)
    assert_problem(capped_client(personas, "member").put(rule_url, team, format="json"), 403)
    assert the_cluster(cluster).namespace_allow == ["*"]
    bad = clients["admin"].put(rule_url, {"allow": ["Bad_NS"], "deny": []}, format="json")
    assert_problem(bad, 400, field="allow.0")
    assert clients["admin"].put(rule_url, team, format="json").json() == team
    event = AuditEvent.objects.get(action="cluster.namespaces")
    assert event.detail == {"patterns": team}

    name = new_namespace("ruled")
    create_secret(clients["member"], org, name, "generic", {"T": "x"}, [name])
    query = {"tag": name}
    inside = new_namespace("team")
    outside = new_namespace("other")
    ok = install(clients["member"], org, cid, {"namespace": inside, "query": query})
    assert [item["status"] for item in ok.json()] == ["installed"]
    for namespace in (outside, "team-secret"):
        assert_problem(
            install(clients["member"], org, cid, {"namespace": namespace, "query": query}), 403
        )
        assert namespace_secrets(kube_control_plane, namespace) == []
    admin = install(clients["admin"], org, cid, {"namespace": outside, "query": query})
    assert [item["status"] for item in admin.json()] == ["installed"]


def test_namespace_rule_on_the_cluster_page(cluster, personas, clients):
    page = f"/orgs/{personas.org.pk}/clusters/{cluster['id']}/"
    member = signed_in(personas, "member")
    assert "Save the namespace rule" not in member.get(page).content.decode()
    refused = member.post(page + "namespace-rule/", {"allow": "*", "deny": ""})
    assert refused.status_code == 403
    assert the_cluster(cluster).namespace_deny == ["kube-system", "kube-public", "kube-node-lease"]
    admin = signed_in(personas, "admin")
    assert "Save the namespace rule" in admin.get(page).content.decode()
    bad = admin.post(page + "namespace-rule/", {"allow": "ok Bad_NS", "deny": ""})
    assert bad.status_code == 400 and "pattern" in bad.content.decode()
    saved = admin.post(page + "namespace-rule/", {"allow": "apps-*, web", "deny": "apps-x"})
    assert saved.status_code == 302
    stored = the_cluster(cluster)
    assert (stored.namespace_allow, stored.namespace_deny) == (["apps-*", "web"], ["apps-x"])


def test_a_token_capped_at_member_is_a_member(cluster, personas, kube_control_plane):
    capped = capped_client(personas, "member")
    org = personas.org.pk
    namespace = new_namespace("capped")
    response = install(
        capped, org, cluster["id"], {"namespace": namespace, "query": {"type": "kubernetes"}}
    )
    assert [item["status"] for item in response.json()] == ["failed"]
    one = capped.post(
        one_url(org, cluster["id"], "stolen"),
        {"namespace": namespace, "sourceSecretName": "dev-kubeconfig"},
        format="json",
    )
    assert_problem(one, 403)
    system = install(
        capped, org, cluster["id"], {"namespace": KUBE_SYSTEM, "query": {"type": "generic"}}
    )
    assert_problem(system, 403)
    row = SecretIndex.objects.get(name="dev-kubeconfig")
    values = capped.get(f"{secrets_url(org)}/{row.secret_id}?values=true")
    assert_problem(values, 403)
    assert namespace_secrets(kube_control_plane, namespace) == []


# --------------------------------------------------------------------------- one values service

KUBECONFIG_TEXT = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: kube-credential-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


@pytest.fixture
def kubeconfig_row(vault, personas, clients) -> SecretIndex:
    body = {"K8Sconfig": KUBECONFIG_TEXT}
    created = create_secret(clients["admin"], personas.org.pk, "kc", "kubernetes", body)
    return SecretIndex.objects.get(secret_id=created["id"])


def test_the_policy_raises_the_role_for_credential_values_and_outside_namespaces(
    kubeconfig_row, personas
):
    from clusters.namespaces import InNamespace
    from orgs import policy
    from orgs.models import Membership, Role

    row = kubeconfig_row
    assert policy.needed_role("secret.values.read", row) == Role.ADMIN
    assert policy.needed_role("secret.values.write", "pkecert") == Role.ADMIN
    assert policy.needed_role("secret.values.read", "generic") == Role.MEMBER
    assert policy.needed_role("secret.list", row) == Role.VIEWER
    cluster = Cluster.objects.create(
        organization=personas.org, name="c", kubeconfig_secret_id=row.secret_id
    )
    assert policy.needed_role("cluster.install", InNamespace(cluster, "apps")) == Role.MEMBER
    for action in ("cluster.install", "cluster.uninstall", "cluster.restart"):
        assert policy.needed_role(action, InNamespace(cluster, "kube-system")) == Role.ADMIN
    admin = Membership.objects.get(user=personas.admin, organization=personas.org)
    admin.role = Role.capped(admin.role, Role.MEMBER)  # as a capped token resolves it
    assert not policy.allows(admin, "secret.values.read", row)
    assert policy.allows(policy.System("re-sync"), "secret.values.read", row)


def test_no_page_or_service_hands_a_member_the_values_of_a_kubeconfig(kubeconfig_row, personas):
    from django.core.exceptions import PermissionDenied

    from orgs.models import Membership
    from secrets_app import lifecycle, values

    row, org = kubeconfig_row, personas.org
    member = signed_in(personas, "member")
    page = f"/orgs/{org.pk}/secrets/{row.secret_id}/"
    download = member.post(page + "download/env/")
    assert download.status_code == 403 and b"kube-credential-token" not in download.content
    standing = Membership.objects.get(user=personas.member, organization=org)
    with pytest.raises(PermissionDenied):
        values.reveal(standing=standing, row=row, purpose="show")
    with pytest.raises(PermissionDenied):
        values.reveal_many(standing=standing, rows=[row])
    with pytest.raises(PermissionDenied):
        lifecycle.secret_rotate(actor=standing, organization=org, secret_id=row.secret_id)
    with pytest.raises(PermissionDenied):
        lifecycle.secret_rollback(
            actor=standing, organization=org, secret_id=row.secret_id, version=1
        )
    assert not AuditEvent.objects.filter(action="secret.read").exists()
    assert SecretIndex.objects.get(pk=row.pk).version == 1
    shown = values.read_values(standing=personas.admin, row=row, purpose="show", audit_read=True)
    assert "kube-credential-token" in shown["K8Sconfig"]
    assert AuditEvent.objects.filter(action="secret.read", actor="alice").count() == 1
