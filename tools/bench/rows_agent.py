"""The ``agent`` rows of ``make bench``: clusters that pull (docs/agent-protocol.md).

- initial sync: an agent started against 1,000 installations, until the server has them
  all reported applied, vs the raw ``kubernetes`` client creating the same 1,000 Secrets
  one after the other, in the same run;
- propagation: one secret installed in 100 namespaces, updated 20 times: from the PUT to
  the last of the 100 Secrets carrying the new version in the cluster (p50 and p99);
- idle: the agent's CPU seconds over one idle minute with 1,000 installations.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
from kubernetes import client as kube_client
from kubernetes import config as kube_config

from tools.bench.harness import Bench
from tools.bench.registry import bench_row
from tools.bench.report import Row
from tools.bench.rows_sync import p99
from tools.devstack.kube.controlplane import ControlPlane
from tools.devstack.proc import REPO_ROOT

SECRETS = 1000
NAMESPACES = 10
SPREAD = 100
UPDATES = 20
IDLE_SECONDS = 60
VERSION = "secrets.pipeline.io/version"


class AgentBench:
    def __init__(self, bench: Bench, control_plane: ControlPlane) -> None:
        self.bench, self.cp = bench, control_plane
        self.kubeconfig = control_plane.write_admin_kubeconfig(bench.work / "agent-kubeconfig")
        self.agents: list[subprocess.Popen[bytes]] = []

    def call(self, method: str, path: str, body: Any = None) -> Any:
        got = self.bench.http.request(method, self.bench.url(path), json=body)
        got.raise_for_status()
        return got.json() if got.content else None

    def agent_cluster(self, name: str, prefix: str) -> dict[str, Any]:
        scope = {"namespaces": [f"{prefix}-*"], "tags": ["bench-agent"], "secrets": []}
        return dict(self.call("POST", "clusters", {"name": name, "mode": "agent", "scope": scope}))

    def secrets(self, count: int, prefix: str) -> list[str]:
        ids = []
        for i in range(count):
            body = {
                "name": f"{prefix}-{i}",
                "type": "generic",
                "values": {"k": f"v{i}"},
                "tags": ["bench-agent", f"{prefix}-group-{i % NAMESPACES}"],
            }
            ids.append(self.call("POST", "secrets?validate=false", body)["id"])
        return ids

    def install(self, cluster: dict[str, Any], namespace: str, query: dict[str, Any]) -> None:
        self.cp.ensure_namespace(namespace)
        body = {"namespace": namespace, "query": query}
        self.call("POST", f"clusters/{cluster['id']}/secrets", body)

    def start_agent(self, token: str, log: Path) -> subprocess.Popen[bytes]:
        command = [
            sys.executable, "-m", "pipeline_secrets_agent", "--server", self.bench.base,
            "--kubeconfig", str(self.kubeconfig), "--log-level", "WARNING",
        ]  # fmt: skip
        env = {**os.environ, "PIPELINE_AGENT_TOKEN": token}
        with log.open("ab") as out:
            agent = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=out)
        self.agents.append(agent)
        return agent

    def applied(self, cluster_id: int) -> int:
        for item in self.call("GET", "fleet"):
            if item["id"] == cluster_id:
                return int(item["installations"]["current"])
        return 0

    def stop(self) -> None:
        for agent in self.agents:
            agent.terminate()
            agent.wait(timeout=30)


def raw_creates_ms(kubeconfig: Path) -> float:
    """The baseline: the same number of Secrets created with the raw client, in turn."""
    api = kube_client.CoreV1Api(kube_config.new_client_from_config(str(kubeconfig)))
    for n in range(NAMESPACES):
        namespace = f"raw-{n}"
        api.create_namespace(
            kube_client.V1Namespace(metadata=kube_client.V1ObjectMeta(name=namespace))
        )
    start = time.perf_counter()
    for i in range(SECRETS):
        body = kube_client.V1Secret(
            metadata=kube_client.V1ObjectMeta(name=f"raw-{i}", labels={"bench": "raw"}),
            string_data={"k": f"v{i}"},
        )
        api.create_namespaced_secret(f"raw-{i % NAMESPACES}", body)
    return (time.perf_counter() - start) * 1000


def raw_reads_ms(bench: Bench, secret_ids: list[str]) -> float:
    """What any tool pays before it can create those Secrets: reading their values from
    OpenBao with raw hvac, one after the other."""
    kv = bench.raw.secrets.kv.v2
    start = time.perf_counter()
    for secret_id in secret_ids:
        path = f"orgs/{bench.org_id}/{secret_id}"
        kv.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)
    return (time.perf_counter() - start) * 1000


def initial_sync(agents: AgentBench) -> tuple[float, list[str], psutil.Process]:
    cluster = agents.agent_cluster("bench-initial", "init")
    secret_ids = agents.secrets(SECRETS, "init")
    for n in range(NAMESPACES):
        agents.install(cluster, f"init-{n}", {"tags": [f"init-group-{n}"]})
    start = time.perf_counter()
    agent = agents.start_agent(cluster["agentToken"], agents.bench.work / "agent-initial.log")
    while agents.applied(cluster["id"]) < SECRETS:
        if time.perf_counter() - start > 600 or agent.poll() is not None:
            raise RuntimeError("the agent did not apply 1,000 installations in 10 minutes")
        time.sleep(0.2)
    return (time.perf_counter() - start) * 1000, secret_ids, psutil.Process(agent.pid)


def idle_cpu_seconds(process: psutil.Process) -> float:
    before = process.cpu_times()
    time.sleep(IDLE_SECONDS)
    after = process.cpu_times()
    return (after.user + after.system) - (before.user + before.system)


def propagation_ms(agents: AgentBench) -> list[float]:
    cluster = agents.agent_cluster("bench-spread", "spread")
    (secret_id,) = agents.secrets(1, "spread")
    for n in range(SPREAD):
        agents.install(cluster, f"spread-{n}", {"ids": [secret_id]})
    agents.start_agent(cluster["agentToken"], agents.bench.work / "agent-spread.log")
    api = kube_client.CoreV1Api(kube_config.new_client_from_config(str(agents.kubeconfig)))
    selector = f"secrets.pipeline.io/cluster-id={cluster['id']}"
    samples = []
    for i in range(UPDATES + 1):
        start = time.perf_counter()
        body = {"values": {"k": f"u{i}"}, "tags": ["bench-agent", "spread-group-0"]}
        version = str(agents.call("PUT", f"secrets/{secret_id}?validate=false", body)["version"])
        while _at_version(api, selector, version) < SPREAD:
            if time.perf_counter() - start > 120:
                raise RuntimeError(f"100 copies not at version {version} in 120 s")
            time.sleep(0.01)
        if i:  # the first update also waits for the agent's start: not counted
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def _at_version(api: Any, selector: str, version: str) -> int:
    found = api.list_secret_for_all_namespaces(label_selector=selector)
    return sum(
        1 for item in found.items if (item.metadata.annotations or {}).get(VERSION) == version
    )


@bench_row("agent")
def agent(bench: Bench) -> list[Row]:
    """The rows above, on a kube-apiserver started for them."""
    with ControlPlane(bench.work / "kube-agent") as control_plane:
        agents = AgentBench(bench, control_plane)
        try:
            raw = raw_creates_ms(agents.kubeconfig)
            initial, secret_ids, process = initial_sync(agents)
            reads = raw_reads_ms(bench, secret_ids)
            idle = idle_cpu_seconds(process)
            spread = propagation_ms(agents)
        finally:
            agents.stop()
    return rows(raw, reads, initial, idle, spread)


def rows(raw: float, reads: float, initial: float, idle: float, spread: list[float]) -> list[Row]:
    return [
        Row(
            f"Agent initial sync of {SECRETS} installations vs raw client creating them",
            initial,
            raw,
            "ratio <= 1.5",
            initial / raw <= 1.5,
        ),
        Row(
            f"The same initial sync vs raw hvac reads of the {SECRETS} values + the raw creates",
            initial,
            raw + reads,
            "reported",
            True,
            note=f"reads {reads:.0f} ms",
        ),
        Row(
            f"One change to {SPREAD} installations, p50 over {UPDATES} updates",
            statistics.median(spread),
            None,
            "-",
            True,
            note="propagation",
        ),
        Row(
            f"One change to {SPREAD} installations, p99 over {UPDATES} updates",
            p99(spread),
            statistics.median(spread),
            "p99 <= 2 s",
            p99(spread) <= 2000,
            note="ratio: p99 over the median",
        ),
        Row(
            f"Agent CPU seconds per idle minute with {SECRETS} installations",
            idle * 1000,
            None,
            "~0 (no polling)",
            idle < 1.0,
            note=f"{idle:.3f} CPU s",
        ),
    ]
