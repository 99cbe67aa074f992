"""The ``sync`` rows of ``make bench``: a write of a secret with installed copies answers as
fast as one of a secret installed nowhere (the copies follow in the task worker), how soon
every copy carries the new version, and a write whose cluster is unreachable.

Two clusters are two registrations of one local kube-apiserver (one control plane is what
this machine can spare beside the benches); each holds ten copies, in ten namespaces.
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any, Protocol

import requests

from tools.bench.harness import Bench
from tools.bench.registry import bench_row
from tools.bench.report import Row, interleaved_medians
from tools.devstack.kube.controlplane import ControlPlane
from tools.devstack.proc import REPO_ROOT, manage_command

CLUSTERS = 2
COPIES_PER_CLUSTER = 10
UPDATES = 20
RUNS = 30


class Served(Protocol):
    """What the bench's served app offers a row (``tools.bench.harness.Bench``)."""

    http: requests.Session
    env: dict[str, str]
    work: Path

    def url(self, path: str) -> str: ...


class SyncRows:
    def __init__(self, bench: Served, kubeconfig: str, server: str) -> None:
        self.bench, self.kubeconfig, self.server = bench, kubeconfig, server
        self.clusters: list[dict[str, Any]] = []
        self.version = 0

    def post(self, path: str, body: dict[str, Any]) -> Any:
        got = self.bench.http.post(self.bench.url(path), json=body)
        got.raise_for_status()
        return got.json()

    def put(self, secret_id: str, value: str, query: str = "") -> dict[str, Any]:
        body = {"values": {"k": value}, "tags": []}
        got = self.bench.http.put(self.bench.url(f"secrets/{secret_id}{query}"), json=body)
        got.raise_for_status()
        result: dict[str, Any] = got.json()
        return result

    def set_up(self) -> tuple[str, str]:
        """Two clusters, one secret installed ten times on each, one installed nowhere."""
        for n in range(CLUSTERS):
            body = {"name": f"sync-{n}", "kubeconfig": self.kubeconfig}
            self.clusters.append(self.post("clusters", body))
        installed = self.post(
            "secrets", {"name": "synced", "type": "generic", "values": {"k": "0"}}
        )
        plain = self.post("secrets", {"name": "alone", "type": "generic", "values": {"k": "0"}})
        for n, cluster in enumerate(self.clusters):
            for i in range(COPIES_PER_CLUSTER):
                install = {"namespace": f"sync-{n}-{i}", "query": {"ids": [installed["id"]]}}
                self.post(f"clusters/{cluster['id']}/secrets", install)
        return installed["id"], plain["id"]

    def copies_at(self, version: int) -> int:
        at = 0
        for cluster in self.clusters:
            got = self.bench.http.get(self.bench.url(f"clusters/{cluster['id']}/secrets"))
            got.raise_for_status()
            at += sum(
                1
                for item in got.json()
                if item.get("version") == version and item.get("status") == "installed"
            )
        return at

    def propagation_ms(self, secret_id: str) -> list[float]:
        """For each update: from the PUT to every copy at the new version (polled)."""
        samples = []
        total = CLUSTERS * COPIES_PER_CLUSTER
        for i in range(UPDATES):
            start = time.perf_counter()
            version = self.put(secret_id, f"p{i}")["version"]
            deadline = start + 60
            while self.copies_at(version) < total:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"copies did not reach version {version} in 60 s")
                time.sleep(0.02)
            samples.append((time.perf_counter() - start) * 1000)
        return samples


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = manage_command("db_worker", "--interval", "0.05", "--no-startup-delay")
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env)


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def unreachable_server() -> tuple[socket.socket, str]:
    """A loopback port that accepts connections and never answers (a cluster gone dark)."""
    sink = socket.create_server(("127.0.0.1", 0), backlog=64)
    return sink, f"https://127.0.0.1:{sink.getsockname()[1]}"


@bench_row("sync")
def sync(bench: Bench) -> list[Row]:
    """The rows below on a kube-apiserver started for them."""
    with ControlPlane(bench.work / "kube-sync") as control_plane:
        return rows(bench, control_plane.admin_kubeconfig(), control_plane.server)


def rows(bench: Served, kubeconfig: str, server: str) -> list[Row]:
    sync = SyncRows(bench, kubeconfig, server)
    installed, plain = sync.set_up()
    worker = start_worker(bench.env)
    try:
        medians = interleaved_medians(
            {
                "installed": lambda i: sync.put(installed, f"w{i}"),
                "plain": lambda i: sync.put(plain, f"w{i}"),
            },
            RUNS,
        )
        samples = sync.propagation_ms(installed)
        dark, dark_plain = _unreachable_medians(sync, installed, plain)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    copies = CLUSTERS * COPIES_PER_CLUSTER
    return [
        Row(
            f"PUT of a secret with {copies} copies on {CLUSTERS} clusters vs one installed nowhere",
            medians["installed"],
            medians["plain"],
            "ratio <= 1.5",
            medians["installed"] / medians["plain"] <= 1.5,
        ),
        Row(
            f"Every copy at the new version, p99 of {UPDATES} updates (median vs p99 of the PUT)",
            p99(samples),
            statistics.median(samples),
            "p99 <= 5 s",
            p99(samples) <= 5000,
            note="ratio: p99 over the median",
        ),
        Row(
            "PUT with one of its 2 clusters unreachable vs one installed nowhere",
            dark,
            dark_plain,
            "ratio <= 1.5 (unchanged)",
            dark / dark_plain <= 1.5,
        ),
    ]


def _unreachable_medians(sync: SyncRows, installed: str, plain: str) -> tuple[float, float]:
    """Point the second cluster's kubeconfig at a port that never answers; PUT again."""
    sink, dark = unreachable_server()
    try:
        secret_id = sync.clusters[1]["secretId"]
        text = sync.kubeconfig.replace(sync.server, dark)
        got = sync.bench.http.put(
            sync.bench.url(f"secrets/{secret_id}?validate=false"),
            json={"values": {"K8Sconfig": text}, "tags": []},
        )
        got.raise_for_status()
        medians = interleaved_medians(
            {
                "installed": lambda i: sync.put(installed, f"d{i}"),
                "plain": lambda i: sync.put(plain, f"d{i}"),
            },
            RUNS,
        )
        return medians["installed"], medians["plain"]
    finally:
        sink.close()
