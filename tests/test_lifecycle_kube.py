"""Rollback, rotation and renewal reach the installed copies in a real kube-apiserver."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command

from clusters.models import Installation
from secrets_app.models import SecretLifecycle
from secrets_app.types.tls import certificates
from tests.test_clusters import (
    create_secret,
    decoded,
    install,
    new_namespace,
    read_secret,
    register,
    secrets_url,
)
from tests.worker import run_worker

# The worker (tests.worker) runs what writes and the periodic command queue.
pytestmark = pytest.mark.django_db(transaction=True)

VERSION = "secrets.pipeline.io/version"


@pytest.fixture
def cluster(vault, personas, clients, kube_control_plane):
    return register(clients["admin"], personas.org.pk, "dev", kube_control_plane.admin_kubeconfig())


def installed(clients, org, cluster, secret_id):
    namespace = new_namespace("life")
    response = install(
        clients["member"],
        org,
        cluster["id"],
        {"namespace": namespace, "query": {"ids": [secret_id]}},
    )
    assert response.json()[0]["status"] == "installed", response.content
    return namespace


def test_rollback_updates_the_installed_copy(cluster, personas, clients, kube_control_plane):
    org = personas.org.pk
    created = create_secret(clients["member"], org, "app-config", "generic", {"k": "one"}, ["p"])
    namespace = installed(clients, org, cluster, created["id"])
    clients["member"].put(
        f"{secrets_url(org)}/{created['id']}",
        {"values": {"k": "two"}, "tags": ["p"]},
        format="json",
    )
    run_worker()
    assert decoded(read_secret(kube_control_plane, namespace, "app-config")) == {"k": "two"}

    response = clients["member"].post(
        f"{secrets_url(org)}/{created['id']}/rollback", {"version": 1}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 3
    assert [(i["status"], i["namespace"]) for i in body["installations"]] == [
        ("pending", namespace)
    ]
    assert run_worker() == 1
    obj = read_secret(kube_control_plane, namespace, "app-config")
    assert decoded(obj) == {"k": "one"} and obj["metadata"]["annotations"][VERSION] == "3"
    assert Installation.objects.get(kube_name="app-config").version == 3


def test_rotation_and_renewal_replace_the_installed_certificate(
    cluster, personas, clients, kube_control_plane
):
    org = personas.org.pk
    created = create_secret(
        clients["member"],
        org,
        "edge-tls",
        "tls",
        {"hosts": "localhost", "validity": "3h", "keyType": "ecdsa-p256"},
    )
    namespace = installed(clients, org, cluster, created["id"])
    first = decoded(read_secret(kube_control_plane, namespace, "edge-tls"))

    rotated = clients["member"].post(f"{secrets_url(org)}/{created['id']}/rotate")
    assert rotated.status_code == 200, rotated.content
    assert rotated.json()["installations"][0]["status"] == "pending"
    assert run_worker() == 1
    second = decoded(read_secret(kube_control_plane, namespace, "edge-tls"))
    assert second["tls.crt"] == rotated.json()["generated"]["serverCert"] != first["tls.crt"]
    assert len(certificates(second["ca.crt"])) == 2  # the new CA, then the replaced one

    # The periodic command renews it inside its window and pushes the copy as well.
    due = SecretLifecycle.objects.get().renew_at
    assert due is not None
    out = io.StringIO()
    call_command("periodic", now=due + timedelta(seconds=1), stdout=out)
    # The command only queued the renewal; the worker renews, and the renewal's write
    # queues the re-sync the worker runs next.
    assert "secrets.renewal: queued 1" in out.getvalue()
    assert run_worker() == 2
    obj = read_secret(kube_control_plane, namespace, "edge-tls")
    third = decoded(obj)
    assert third["tls.crt"] != second["tls.crt"]
    assert obj["metadata"]["annotations"][VERSION] == "3"
