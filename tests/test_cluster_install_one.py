"""Installing ONE secret as a named Kubernetes Secret with an optional key mapping (POST and
PATCH /clusters/{id}/secrets/{name}), and the cluster's secret list, against a real
kube-apiserver."""

from __future__ import annotations

import json

import pytest

from audit.models import AuditEvent
from clusters.models import Installation
from tests.helpers import assert_problem, check_access
from tests.test_clusters import (
    clusters_url,
    create_secret,
    decoded,
    new_namespace,
    put_foreign_secret,
    read_secret,
    register,
    secrets_url,
)
from tests.worker import run_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def cluster(vault, personas, clients, kube_control_plane):
    return register(clients["admin"], personas.org.pk, "dev", kube_control_plane.admin_kubeconfig())


def one_url(org_id: int, cluster_id: int, name: str) -> str:
    return f"{clusters_url(org_id)}/{cluster_id}/secrets/{name}"


def missing(cp, namespace: str, name: str) -> bool:
    try:
        read_secret(cp, namespace, name)
    except Exception as exc:
        return getattr(exc, "status", None) == 404
    return False


def namespace_exists(cp, namespace: str) -> bool:
    try:
        cp.request("GET", f"/api/v1/namespaces/{namespace}")
    except Exception as exc:
        assert getattr(exc, "status", None) == 404
        return False
    return True


def test_install_without_spec_has_the_types_keys_and_our_labels(
    cluster, personas, clients, kube_control_plane
):
    org = personas.org.pk
    create_secret(clients["member"], org, "db", "password", {"username": "u", "password": "p"})
    namespace = new_namespace()
    response = clients["member"].post(
        one_url(org, cluster["id"], "db"), {"namespace": namespace}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"name": "db"}
    obj = read_secret(kube_control_plane, namespace, "db")
    assert obj["type"] == "kubernetes.io/basic-auth"
    assert decoded(obj) == {"username": "u", "password": "p"}
    assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "pipeline-secrets"
    assert obj["metadata"]["annotations"]["secrets.pipeline.io/version"] == "1"
    item = Installation.objects.get(kube_name="db")
    assert (item.spec, item.merged, item.keys) == (None, False, ["password", "username"])
    event = AuditEvent.objects.get(action="cluster.install")
    assert event.actor == "mike" and event.detail == {
        "namespace": namespace,
        "secret": "db",
        "source": "db",
        "version": 1,
        "fields": None,
        "statuses": {"installed": 1},
    }


def test_install_with_spec_source_value_source_map_and_empty_item(
    cluster, personas, clients, kube_control_plane
):
    org = personas.org.pk
    create_secret(
        clients["member"], org, "aws", "generic", {"KEY_ID": "id1", "SECRET": "s1", "REGION": "r"}
    )
    namespace = new_namespace()
    spec = {
        "AWS_ACCESS_KEY_ID": {"source": "KEY_ID"},
        "mode": {"value": "prod"},
        "creds.json": {"sourceMap": {"id": "KEY_ID", "secret": "SECRET"}},
        "all.json": {},
    }
    response = clients["member"].post(
        one_url(org, cluster["id"], "app-creds"),
        {"namespace": namespace, "sourceSecretName": "aws", "spec": spec},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"name": "app-creds"}
    obj = read_secret(kube_control_plane, namespace, "app-creds")
    data = decoded(obj)
    assert obj["type"] == "Opaque"
    assert set(data) == set(spec)
    assert data["AWS_ACCESS_KEY_ID"] == "id1" and data["mode"] == "prod"
    assert json.loads(data["creds.json"]) == {"id": "id1", "secret": "s1"}
    assert json.loads(data["all.json"]) == {"KEY_ID": "id1", "SECRET": "s1", "REGION": "r"}
    item = Installation.objects.get(kube_name="app-creds")
    assert item.secret_name == "aws" and item.keys == sorted(spec)
    # The literal's text stays in the cluster only.
    assert "prod" not in json.dumps(item.spec)
    assert (item.spec or {})["mode"] == {"literal": True}


@pytest.mark.django_db(transaction=True)
def test_update_resyncs_with_the_same_mapping(cluster, personas, clients, kube_control_plane):
    org = personas.org.pk
    created = create_secret(clients["member"], org, "cfg", "generic", {"A": "1", "B": "2"})
    namespace = new_namespace()
    spec = {"first": {"source": "A"}, "lit": {"value": "x"}, "both": {"sourceMap": {"b": "B"}}}
    response = clients["member"].post(
        one_url(org, cluster["id"], "cfg-mapped"),
        {"namespace": namespace, "sourceSecretName": "cfg", "spec": spec},
        format="json",
    )
    assert response.status_code == 200, response.content
    updated = clients["member"].put(
        f"{secrets_url(org)}/{created['id']}",
        {"values": {"A": "10", "B": "20"}, "tags": []},
        format="json",
    )
    assert updated.status_code == 200, updated.content
    assert [i["status"] for i in updated.json()["installations"]] == ["pending"]
    assert run_worker() == 1
    obj = read_secret(kube_control_plane, namespace, "cfg-mapped")
    assert decoded(obj) == {"first": "10", "lit": "x", "both": json.dumps({"b": "20"})}
    assert obj["metadata"]["annotations"]["secrets.pipeline.io/version"] == "2"
    assert Installation.objects.get(kube_name="cfg-mapped").version == 2


def test_foreign_secret_is_409_and_untouched(cluster, personas, clients, kube_control_plane):
    org = personas.org.pk
    create_secret(clients["member"], org, "shared", "generic", {"k": "ours"})
    namespace = new_namespace()
    put_foreign_secret(kube_control_plane, namespace, "shared")
    for persona in ("member", "admin"):
        response = clients[persona].post(
            one_url(org, cluster["id"], "shared"), {"namespace": namespace}, format="json"
        )
        assert_problem(response, 409)
    assert decoded(read_secret(kube_control_plane, namespace, "shared")) == {"k": "theirs"}
    assert not Installation.objects.exists()


def test_our_own_secret_is_replaced_by_a_second_install(
    cluster, personas, clients, kube_control_plane
):
    org = personas.org.pk
    create_secret(clients["member"], org, "s", "generic", {"a": "1", "b": "2"})
    namespace = new_namespace()
    url = one_url(org, cluster["id"], "s")
    assert clients["member"].post(url, {"namespace": namespace}, format="json").status_code == 200
    again = clients["member"].post(
        url, {"namespace": namespace, "spec": {"only": {"source": "a"}}}, format="json"
    )
    assert again.status_code == 200, again.content
    assert decoded(read_secret(kube_control_plane, namespace, "s")) == {"only": "1"}
    assert Installation.objects.get(kube_name="s").spec == {"only": {"source": "a"}}


@pytest.mark.django_db(transaction=True)
def test_patch_merges_keys_and_keeps_the_others(cluster, personas, clients, kube_control_plane):
    org = personas.org.pk
    created = create_secret(clients["member"], org, "extra", "generic", {"x": "1", "y": "2"})
    namespace = new_namespace()
    put_foreign_secret(kube_control_plane, namespace, "app")
    url = one_url(org, cluster["id"], "app")
    body = {"namespace": namespace, "sourceSecretName": "extra", "spec": {"X": {"source": "x"}}}
    # Merging into a Secret this product does not manage needs the admin role.
    assert_problem(clients["member"].patch(url, body, format="json"), 403)
    assert decoded(read_secret(kube_control_plane, namespace, "app")) == {"k": "theirs"}
    response = clients["admin"].patch(url, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"name": "app"}
    obj = read_secret(kube_control_plane, namespace, "app")
    assert decoded(obj) == {"k": "theirs", "X": "1"}
    assert "app.kubernetes.io/managed-by" not in (obj["metadata"].get("labels") or {})
    item = Installation.objects.get(kube_name="app")
    assert item.merged and item.keys == ["X"]
    assert AuditEvent.objects.filter(action="cluster.merge").count() == 1
    # A change of the secret re-syncs only the merged key.
    clients["member"].put(
        f"{secrets_url(org)}/{created['id']}", {"values": {"x": "9", "y": "2"}}, format="json"
    )
    assert run_worker() == 1
    assert decoded(read_secret(kube_control_plane, namespace, "app")) == {"k": "theirs", "X": "9"}
    # Uninstalling takes out the merged key and leaves their Secret.
    base = f"{clusters_url(org)}/{cluster['id']}/secrets"
    assert clients["member"].delete(f"{base}/app?namespace={namespace}").status_code == 204
    assert decoded(read_secret(kube_control_plane, namespace, "app")) == {"k": "theirs"}


def test_patch_into_our_secret_by_a_member_and_a_missing_secret_is_404(
    cluster, personas, clients, kube_control_plane
):
    org = personas.org.pk
    create_secret(clients["member"], org, "base", "generic", {"a": "1"})
    create_secret(clients["member"], org, "more", "generic", {"b": "2"})
    namespace = new_namespace()
    member = clients["member"]
    assert (
        member.post(one_url(org, cluster["id"], "base"), {"namespace": namespace}, format="json")
    ).status_code == 200
    merged = member.patch(
        one_url(org, cluster["id"], "base"),
        {"namespace": namespace, "sourceSecretName": "more"},
        format="json",
    )
    assert merged.status_code == 200, merged.content
    assert decoded(read_secret(kube_control_plane, namespace, "base")) == {"a": "1", "b": "2"}
    gone = member.patch(
        one_url(org, cluster["id"], "nothing-here"),
        {"namespace": namespace, "sourceSecretName": "more"},
        format="json",
    )
    assert_problem(gone, 404)
    assert missing(kube_control_plane, namespace, "nothing-here")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"spec": {"K": {"source": "nope"}}}, "spec.K"),
        ({"spec": {"K": {"sourceMap": {"a": "nope"}}}}, "spec.K"),
        ({"spec": {"K": {"source": "a", "value": "v"}}}, "spec.K"),
        ({"spec": {"bad key!": {"source": "a"}}}, "spec.bad key!"),
        ({"spec": {"K": {"source": 5}}}, "spec.K"),
        ({"spec": ["a"]}, "spec"),
        ({"sourceSecretName": 7}, "sourceSecretName"),
    ],
)
def test_bad_spec_is_400_naming_the_key_and_nothing_is_created(
    cluster, personas, clients, kube_control_plane, body, field
):
    org = personas.org.pk
    create_secret(clients["member"], org, "src", "generic", {"a": "1"})
    namespace = new_namespace()
    response = clients["member"].post(
        one_url(org, cluster["id"], "target"),
        {"namespace": namespace, "sourceSecretName": "src", **body},
        format="json",
    )
    assert_problem(response, 400, field=field)
    assert not namespace_exists(kube_control_plane, namespace)
    assert not Installation.objects.exists()


def test_opaque_field_and_bad_names_are_400_unknown_source_is_404(cluster, personas, clients):
    org = personas.org.pk
    url = one_url(org, cluster["id"], "ok")
    create_secret(clients["member"], org, "ok", "generic", {"a": "1"})
    assert_problem(clients["member"].post(url, {}, format="json"), 400, field="namespace")
    bad_ns = clients["member"].post(url, {"namespace": "Bad_NS"}, format="json")
    assert_problem(bad_ns, 400, field="namespace")
    bad_name = one_url(org, cluster["id"], "Not_A_Name")
    assert_problem(
        clients["member"].post(
            bad_name, {"namespace": "ns", "sourceSecretName": "ok"}, format="json"
        ),
        400,
        field="secretName",
    )
    unknown = clients["member"].post(
        url, {"namespace": "ns", "sourceSecretName": "nope"}, format="json"
    )
    assert_problem(unknown, 404)
    assert not Installation.objects.exists()


def test_another_orgs_secret_or_cluster_is_404(cluster, personas, clients, kube_control_plane):
    org = personas.org.pk
    create_secret(clients["outsider"], personas.other_org.pk, "theirs", "generic", {"k": "v"})
    response = clients["member"].post(
        one_url(org, cluster["id"], "theirs"), {"namespace": new_namespace()}, format="json"
    )
    assert_problem(response, 404)
    assert_problem(
        clients["outsider"].post(
            one_url(personas.other_org.pk, cluster["id"], "theirs"),
            {"namespace": new_namespace()},
            format="json",
        ),
        404,
    )


def test_install_one_and_merge_by_role(cluster, personas, clients, kube_control_plane):
    org = personas.org.pk
    create_secret(clients["member"], org, "r", "generic", {"k": "v"})
    namespace = new_namespace()
    url = one_url(org, cluster["id"], "r")
    check_access(
        clients, "post", url, allowed=("admin", "member"), ok=200, body={"namespace": namespace}
    )
    check_access(
        clients, "patch", url, allowed=("admin", "member"), ok=200, body={"namespace": namespace}
    )
    listed = f"{clusters_url(org)}/{cluster['id']}/secrets"
    check_access(clients, "get", listed, allowed=("admin", "member", "viewer"), ok=200)


def test_cluster_secret_list_is_secret_items_with_installation_details(
    cluster, personas, clients, kube_control_plane
):
    org = personas.org.pk
    created = create_secret(clients["member"], org, "web", "generic", {"USER": "u", "PW": "p"})
    namespace = new_namespace()
    clients["member"].post(
        one_url(org, cluster["id"], "web-env"),
        {"namespace": namespace, "sourceSecretName": "web", "spec": {"U": {"source": "USER"}}},
        format="json",
    )
    listed = clients["viewer"].get(f"{clusters_url(org)}/{cluster['id']}/secrets")
    assert listed.status_code == 200
    [entry] = listed.json()
    assert {k: entry[k] for k in ("id", "name", "type", "tags", "version")} == {
        "id": created["id"],
        "name": "web",
        "type": "generic",
        "tags": [],
        "version": 1,
    }
    assert entry["values"] == {"PW": "<hidden>", "USER": "<hidden>"}
    assert entry["updatedBy"] and entry["updatedAt"]
    assert (entry["namespace"], entry["kubeName"], entry["status"]) == (
        namespace,
        "web-env",
        "installed",
    )
    assert (entry["installedVersion"], entry["installExpiresAt"], entry["lastError"]) == (
        1,
        None,
        "",
    )
    assert entry["mappedKeys"] == ["U"] and entry["merged"] is False


def test_a_hidden_secret_is_installed_by_its_name(cluster, personas, clients, kube_control_plane):
    org = personas.org.pk
    create_secret(clients["member"], org, "internal", "generic", {"k": "v"}, ["banzai:hidden"])
    listed = clients["member"].get(secrets_url(org)).json()
    assert "internal" not in [s["name"] for s in listed]
    namespace = new_namespace()
    response = clients["member"].post(
        one_url(org, cluster["id"], "copy"),
        {"namespace": namespace, "sourceSecretName": "internal"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert decoded(read_secret(kube_control_plane, namespace, "copy")) == {"k": "v"}
