"""A database role installed into a namespace of a real kube-apiserver: fresh credentials
in a Secret, renewed while installed, replaced before the role's max TTL (the copy updated,
the named workload restarted, the old user revoked after its grace period), and revoked
when the copy is uninstalled; against real OpenBao and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
import pytest
from rest_framework.test import APIClient

from databases import keeping
from databases.installs import MANAGED_TAG
from databases.models import DatabaseInstall, DatabaseLease
from notifications.models import NotificationDelivery, NotificationTarget
from secrets_app.models import SecretIndex
from tests.conftest import Personas
from tests.test_agent_protocol import agent_cluster, render
from tests.test_clusters import clusters_url, decoded, new_namespace, read_secret, register
from tests.test_databases_api import connect_body, create_role, url
from tests.test_workload_restarts import create_workload, expected_mark, restart_mark
from tests.worker import run_worker
from tools.devstack.pytest_plugin import DatabaseTarget

pytestmark = pytest.mark.django_db(transaction=True)

KEYS = {"username", "password", "host", "port", "database", "uri"}


@pytest.fixture
def target(target_postgres: DatabaseTarget, settings: Any, vault: Any) -> DatabaseTarget:
    settings.DATABASE_ALLOW_ENDPOINTS = [f"{target_postgres.host}:{target_postgres.port}"]
    settings.DATABASE_REVOKE_GRACE_SECONDS = 60
    return target_postgres


def logs_in(target: DatabaseTarget, values: dict[str, str]) -> bool:
    try:
        with target.connect(values["username"], values["password"]) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError:
        return False


def installed_role(
    personas: Personas, clients: dict[str, APIClient], target: DatabaseTarget, cp: Any
) -> tuple[dict[str, Any], dict[str, Any], str]:
    org = personas.org.pk
    cluster = register(clients["admin"], org, "dev", cp.admin_kubeconfig())
    connection = clients["admin"].post(
        url(org, "database-connections"), connect_body(target), format="json"
    )
    role = create_role(clients["admin"], org, connection.json()["id"], maxTtl=3600)
    namespace = new_namespace("dbcreds")
    create_workload(cp, namespace, "Deployment", "api", "creds")
    body = {
        "clusterId": cluster["id"],
        "namespace": namespace,
        "name": "creds",
        "workloads": [{"kind": "Deployment", "name": "api"}],
    }
    got = clients["member"].post(
        url(org, f"database-roles/{role['id']}/installs"), body, format="json"
    )
    assert got.status_code == 201, got.content
    assert [r["status"] for r in got.json()["results"]] == ["installed"]
    return cluster, got.json()["install"], namespace


def test_installed_credentials_are_renewed_replaced_and_revoked(
    personas: Personas,
    clients: dict[str, APIClient],
    target: DatabaseTarget,
    kube_control_plane: Any,
) -> None:
    cp = kube_control_plane
    cluster, install, namespace = installed_role(personas, clients, target, cp)
    first = decoded(read_secret(cp, namespace, "creds"))
    assert set(first) == KEYS and first["port"] == str(target.port)
    assert first["uri"].startswith("postgresql://") and logs_in(target, first)
    lease = DatabaseLease.objects.get(install_id=install["id"])

    # Half the TTL gone: renewed, the same user.
    renewed_at = lease.expires_at - timedelta(seconds=100)
    assert keeping.run(renewed_at)["renewed"] == 1
    lease.refresh_from_db()
    assert lease.renewed_at == renewed_at and lease.expires_at > renewed_at

    # The max TTL near: new credentials, the copy and the workload follow.
    near_max = lease.max_expires_at - timedelta(seconds=60)
    assert keeping.run(near_max)["replaced"] == 1
    run_worker()
    second = decoded(read_secret(cp, namespace, "creds"))
    assert second["username"] != first["username"] and logs_in(target, second)
    secret_id = install["secretId"]
    assert SecretIndex.objects.get(secret_id=secret_id).version == 2
    assert restart_mark(cp, namespace, "Deployment", "api") == expected_mark(secret_id, 2)
    assert logs_in(target, first)  # the grace period: running pods may still use it
    assert keeping.run(lease.max_expires_at + timedelta(seconds=1))["revoked"] == 1
    assert not logs_in(target, first) and logs_in(target, second)

    # Uninstalled: the credentials are revoked and the managed secret deleted.
    org = personas.org.pk
    base = f"{clusters_url(org)}/{cluster['id']}/secrets/creds?namespace={namespace}"
    assert clients["member"].delete(base).status_code == 204
    run_worker()
    assert not logs_in(target, second)
    assert DatabaseInstall.objects.get(pk=install["id"]).status == "removed"
    assert not SecretIndex.objects.filter(secret_id=secret_id).exists()
    assert not DatabaseLease.objects.filter(install_id=install["id"], revoked_at__isnull=True)


def test_an_install_outside_the_namespace_rule_issues_nothing(
    personas: Personas,
    clients: dict[str, APIClient],
    target: DatabaseTarget,
    kube_control_plane: Any,
) -> None:
    org = personas.org.pk
    cluster = register(clients["admin"], org, "dev", kube_control_plane.admin_kubeconfig())
    connection = clients["admin"].post(
        url(org, "database-connections"), connect_body(target), format="json"
    )
    role = create_role(clients["admin"], org, connection.json()["id"])
    body = {"clusterId": cluster["id"], "namespace": "kube-system"}
    got = clients["member"].post(
        url(org, f"database-roles/{role['id']}/installs"), body, format="json"
    )
    assert got.status_code == 403, got.content
    assert not DatabaseLease.objects.exists()
    assert not SecretIndex.objects.filter(name__startswith="db-").exists()


def test_a_lease_revoked_behind_the_products_back_is_replaced_and_notified(
    personas: Personas,
    clients: dict[str, APIClient],
    target: DatabaseTarget,
    kube_control_plane: Any,
    vault: Any,
) -> None:
    cp = kube_control_plane
    NotificationTarget.objects.create(
        organization=personas.org, name="ops", kind="email", emails=["ops@example.com"]
    )
    _, install, namespace = installed_role(personas, clients, target, cp)
    first = decoded(read_secret(cp, namespace, "creds"))
    lease = DatabaseLease.objects.get(install_id=install["id"])
    vault.root.sys.revoke_lease(lease_id=lease.vault_lease_id)
    assert not logs_in(target, first)
    counts = keeping.run(lease.expires_at - timedelta(seconds=100))
    assert counts["failed"] == 1 and counts["replaced"] == 1
    run_worker()
    second = decoded(read_secret(cp, namespace, "creds"))
    assert second["username"] != first["username"] and logs_in(target, second)
    delivery = NotificationDelivery.objects.get(event="database.credentials_failed")
    assert delivery.detail["trigger"] == "renewed"


def test_an_agent_cluster_receives_installed_credentials_in_its_scope_only(
    personas: Personas, clients: dict[str, APIClient], target: DatabaseTarget, settings: Any
) -> None:
    settings.AGENT_INSTALL_WAIT_SECONDS = 0.2
    org = personas.org.pk
    connection = clients["admin"].post(
        url(org, "database-connections"), connect_body(target), format="json"
    )
    role = create_role(clients["admin"], org, connection.json()["id"])
    scope = {"namespaces": ["team-*"], "tags": [MANAGED_TAG], "secrets": []}
    edge, raw = agent_cluster(personas.org, "edge", scope)
    body = {"clusterId": edge.pk, "namespace": "team-a", "name": "creds"}
    got = clients["member"].post(
        url(org, f"database-roles/{role['id']}/installs"), body, format="json"
    )
    assert got.status_code == 201, got.content
    assert [r["status"] for r in got.json()["results"]] == ["pending"]
    (item,) = render(raw, {"installations": "all"})["installations"]
    assert item["state"] == "present" and item["name"] == "creds"
    assert set(item["secret"]["data"]) == KEYS and logs_in(target, item["secret"]["data"])

    # Outside the scope: nothing is delivered and the credentials do not outlive the refusal.
    outside, _ = agent_cluster(
        personas.org, "far", {"namespaces": ["other-*"], "tags": [MANAGED_TAG], "secrets": []}
    )
    body = {"clusterId": outside.pk, "namespace": "team-a", "name": "creds-far"}
    got = clients["member"].post(
        url(org, f"database-roles/{role['id']}/installs"), body, format="json"
    )
    assert [r["status"] for r in got.json()["results"]] == ["failed"]
    refused = DatabaseInstall.objects.get(pk=got.json()["install"]["id"])
    assert refused.status == "removed"
    assert not DatabaseLease.objects.filter(install=refused, revoked_at__isnull=True).exists()
    assert not SecretIndex.objects.filter(name="creds-far").exists()
