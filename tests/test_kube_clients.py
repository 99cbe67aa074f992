"""One API client per kubeconfig, kept for the calls that follow: installs to a cluster share
it (and its TLS connections), a new kubeconfig gets its own, the checks that depend on the
operator's settings still run at every use, and idle clients are let go."""

from __future__ import annotations

from typing import Any

import pytest

from clusters import kube
from clusters.kube import clients as kube_clients
from tests.test_clusters import (
    create_secret,
    install,
    new_namespace,
    read_secret,
    register,
)
from tools.devstack.pytest_plugin import KubeAPIError

pytestmark = pytest.mark.django_db


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The sanitised kubeconfigs a client was built from, in order."""
    built: list[dict[str, Any]] = []
    real = kube_clients.build_client

    def counted(config: dict[str, Any]) -> Any:
        built.append(config)
        return real(config)

    monkeypatch.setattr(kube_clients, "build_client", counted)
    monkeypatch.setattr(kube_clients, "kept", type(kube_clients.kept)())  # start with none kept
    return built


def installed(clients, org_id: int, cluster_id: str, tag: str) -> str:
    namespace = new_namespace("kept")
    got = install(
        clients["member"], org_id, cluster_id, {"namespace": namespace, "query": {"tag": tag}}
    )
    assert got.status_code == 200, got.content
    assert [item["status"] for item in got.json()] == ["installed"]
    return namespace


def test_installs_to_one_cluster_share_one_client(
    vault, personas, clients, kube_control_plane, builds
):
    org = personas.org.pk
    cluster = register(clients["admin"], org, "shared", kube_control_plane.admin_kubeconfig())
    create_secret(clients["member"], org, "db", "generic", {"k": "v"}, ["kept"])
    namespaces = [installed(clients, org, cluster["id"], "kept") for _ in range(3)]
    for namespace in namespaces:
        assert read_secret(kube_control_plane, namespace, "db")["metadata"]["name"] == "db"
    # The check at registration and three installs (each also opening its namespace).
    assert len(builds) == 1


def test_another_kubeconfig_gets_its_own_client(
    vault, personas, clients, kube_control_plane, builds
):
    org = personas.org.pk
    namespace = new_namespace("own")
    first = register(clients["admin"], org, "first", kube_control_plane.admin_kubeconfig())
    scoped = kube_control_plane.restricted_kubeconfig(namespace, "kept-client-user")
    second = register(clients["admin"], org, "second", scoped)
    create_secret(clients["member"], org, "db", "generic", {"k": "v"}, ["kept"])
    installed(clients, org, first["id"], "kept")
    got = install(
        clients["member"], org, second["id"], {"namespace": namespace, "query": {"tag": "kept"}}
    )
    assert [item["status"] for item in got.json()] == ["installed"]
    assert len(builds) == 2 and builds[0] != builds[1]


def test_a_kept_client_is_refused_once_its_server_is_denied(
    vault, personas, clients, kube_control_plane, builds, settings
):
    org = personas.org.pk
    cluster = register(clients["admin"], org, "denied", kube_control_plane.admin_kubeconfig())
    create_secret(clients["member"], org, "db", "generic", {"k": "v"}, ["kept"])
    installed(clients, org, cluster["id"], "kept")
    settings.OUTBOUND_DENY_NETWORKS = ["127.0.0.0/8"]
    namespace = new_namespace("denied")
    refused = install(
        clients["member"], org, cluster["id"], {"namespace": namespace, "query": {"tag": "kept"}}
    )
    assert refused.status_code == 400 and "OUTBOUND_DENY_NETWORKS" in str(refused.json())
    with pytest.raises(KubeAPIError) as missing:
        read_secret(kube_control_plane, namespace, "db")
    assert missing.value.status == 404  # nothing was sent: not even the namespace exists


def test_idle_clients_are_let_go(vault, kube_control_plane, builds, monkeypatch):
    monkeypatch.setattr(kube_clients, "CLIENT_IDLE_SECONDS", 0.0)
    admin = kube_control_plane.admin_kubeconfig()
    scoped = kube_control_plane.restricted_kubeconfig(new_namespace("idle"), "idle-user")
    assert kube.server_version(admin)
    assert len(kube_clients.kept) == 1
    assert kube.server_version(scoped)
    # Using the second let the first go: only the one just used is kept.
    assert len(kube_clients.kept) == 1 and len(builds) == 2
    assert kube.server_version(admin)
    assert len(builds) == 3
