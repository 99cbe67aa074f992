"""Rows over many objects: a tag query over 10,000 secrets against the original's LIST and
read-all, installing 100 secrets into a namespace against the Kubernetes client's creates,
the dashboard's list page of 1,000 secrets, and the app worker's memory after them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import psutil
import yaml

from tools.bench.harness import Bench, setup_django
from tools.bench.registry import bench_row
from tools.bench.report import Row, median_ms
from tools.devstack.kube.controlplane import ControlPlane

SEED_SECRETS = int(os.environ.get("BENCH_SEED", "10000"))
TAG_HITS = 100
INSTALL_COUNT = 100
DASHBOARD_SECRETS = 1000


def create_in_process(org: int | str, count: int, secret: Callable[[int], dict]) -> int:
    """``count`` secrets made by the write service in this process, in the org of that id
    or in a new org of that name; ``secret(i)`` gives each one's name, type, values and
    tags. Returns the org's id."""
    setup_django()
    from orgs.models import Organization, User
    from orgs.services import organization_create
    from secrets_app.services import secret_create
    from secrets_app.types import Context

    user = User.objects.get(username="bench")
    if isinstance(org, int):
        organization = Organization.objects.get(pk=org)
    else:
        organization = organization_create(actor=user, name=org, operator=True)
    ctx = Context(verify_remote=False)
    for i in range(count):
        secret_create(actor=user, organization=organization, ctx=ctx, **secret(i))
    return int(organization.pk)


def seeded(i: int) -> dict:
    tags = ["team:hit"] if i % (SEED_SECRETS // TAG_HITS) == 0 else [f"team:{i % 37}"]
    return {
        "name": f"seed-{i:05d}",
        "type": "generic",
        "values": {"k": f"v{i}"},
        "tags": [*tags, "bench:seed"],
    }


@bench_row("tags")
def tag_query(bench: Bench) -> list[Row]:
    """A tag query (the index) against what the original did: LIST, then read every one."""
    start = time.perf_counter()
    create_in_process(bench.org_id, SEED_SECRETS, seeded)
    print(f"seeded {SEED_SECRETS} secrets in {time.perf_counter() - start:.0f} s", flush=True)
    kv = bench.raw.secrets.kv.v2
    folder = f"orgs/{bench.org_id}"

    def ours(_: int) -> None:
        got = bench.http.get(bench.url("secrets"), params={"tag": "team:hit"})
        got.raise_for_status()
        assert len(got.json()) == TAG_HITS

    def original(_: int) -> None:
        keys = kv.list_secrets(path=folder, mount_point="secret")["data"]["keys"]
        hits = 0
        for key in keys:
            doc = kv.read_secret_version(
                path=f"{folder}/{key}", mount_point="secret", raise_on_deleted_version=True
            )["data"]["data"]
            hits += "team:hit" in (doc.get("tags") or [])
        assert hits == TAG_HITS

    o = median_ms(ours, 50)
    b = median_ms(original, 3, warmup=0)
    return [
        Row(
            f"Tag query, {TAG_HITS} of {SEED_SECRETS} secrets, vs LIST + read all (original)",
            o,
            b,
            ">= 100x faster and < 50 ms",
            b / o >= 100 and o < 50,
            note=f"{b / o:.0f}x faster",
        )
    ]


def install_cluster(bench: Bench, control_plane: ControlPlane) -> int:
    """The control plane registered as a cluster of the bench org, and INSTALL_COUNT
    secrets tagged ``bench:install``; returns the cluster's id."""
    kubeconfig = control_plane.admin_kubeconfig()
    created = bench.http.post(
        bench.url("clusters"), json={"name": "bench", "kubeconfig": kubeconfig}
    )
    created.raise_for_status()
    for i in range(INSTALL_COUNT):
        values = {"USER": f"u{i}", "PASSWORD": f"p{i}"}
        body = {"name": f"inst-{i:03d}", "type": "generic", "values": values}
        body["tags"] = ["bench:install"]
        bench.http.post(bench.url("secrets"), json=body).raise_for_status()
    return int(created.json()["id"])


def client_install(control_plane: ControlPlane) -> Callable[[str], None]:
    """The baseline: the kubernetes client creating the namespace and the same Secrets."""
    from kubernetes import client as kube_client
    from kubernetes import config as kube_config

    config = yaml.safe_load(control_plane.admin_kubeconfig())
    core = kube_client.CoreV1Api(kube_config.new_client_from_config_dict(config))

    def install(namespace: str) -> None:
        meta = kube_client.V1ObjectMeta(name=namespace)
        core.create_namespace(kube_client.V1Namespace(metadata=meta))
        for i in range(INSTALL_COUNT):
            secret = kube_client.V1Secret(
                metadata=kube_client.V1ObjectMeta(name=f"inst-{i:03d}"),
                string_data={"USER": f"u{i}", "PASSWORD": f"p{i}"},
            )
            core.create_namespaced_secret(namespace, secret)

    return install


@bench_row("install")
def install(bench: Bench) -> list[Row]:
    """Installing INSTALL_COUNT secrets into a fresh namespace with one API call, against
    the kubernetes client creating them one by one, on a real kube-apiserver."""
    with ControlPlane(bench.work / "kube") as control_plane:
        cluster_id = install_cluster(bench, control_plane)
        baseline = client_install(control_plane)
        counter = iter(range(1000))

        def ours(_: int) -> None:
            body = {"namespace": f"ours-{next(counter)}", "query": {"tag": "bench:install"}}
            got = bench.http.post(bench.url(f"clusters/{cluster_id}/secrets"), json=body)
            got.raise_for_status()
            assert all(item["status"] == "installed" for item in got.json())

        o = median_ms(ours, 5, warmup=1)
        b = median_ms(lambda _: baseline(f"base-{next(counter)}"), 5, warmup=1)
    return [
        Row(
            f"Install {INSTALL_COUNT} secrets into one namespace vs kubernetes client creates",
            o,
            b,
            "ratio <= 1.3 and < 2 s",
            o / b <= 1.3 and o < 2000,
        )
    ]


@bench_row("dashboard")
def dashboard(bench: Bench) -> list[Row]:
    """Server time of the secrets list page of an org with 1,000 secrets (in-process)."""

    def secret(i: int) -> dict:
        name = f"page-{i:04d}"
        return {"name": name, "type": "generic", "values": {"k": "v"}, "tags": [f"team:{i % 7}"]}

    org_id = create_in_process("bench-dashboard", DASHBOARD_SECRETS, secret)
    from django.test import Client

    from orgs.models import User

    client = Client()
    client.force_login(User.objects.get(username="bench"))
    url = f"/orgs/{org_id}/secrets/"

    def page(_: int) -> None:
        assert client.get(url).status_code == 200

    ours = median_ms(page, 50)
    name = "Dashboard secrets list, org with 1,000 secrets (server time)"
    return [Row(name, ours, None, "< 150 ms", ours < 150)]


@bench_row("memory")
def memory(bench: Bench) -> list[Row]:
    """The largest resident memory of the app's gunicorn workers after the rows before."""
    assert bench.app is not None
    workers = psutil.Process(bench.app.pid).children()
    rss = max(w.memory_info().rss for w in workers) / 2**20
    name = "Resident memory of one app worker after the run"
    return [Row(name, None, None, "< 150 MB", rss < 150, note=f"{rss:.0f} MB")]
