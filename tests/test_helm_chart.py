"""The Helm chart: ``helm lint``, ``helm template``, and every rendered object applied with a
server-side dry run against the real kube-apiserver (its admission and validation)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.kube.controlplane import ControlPlane

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "deploy" / "helm" / "pipeline-secrets"


@pytest.fixture(scope="session")
def helm() -> str:
    """The helm binary, built from its Go module once (tools/helm/build.sh, cached)."""
    built = subprocess.run(
        ["bash", str(ROOT / "tools" / "helm" / "build.sh")],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    return built.stdout.strip().splitlines()[-1]


def render(helm: str, namespace: str, *options: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [helm, "template", "rel", str(CHART), "--namespace", namespace, *options],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture
def objects(helm: str) -> Iterator[list[dict[str, Any]]]:
    yield render(helm, "apps", "--set", "ingress.enabled=true", "--set", "replicaCount=3")


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def test_helm_lint_passes(helm: str) -> None:
    result = subprocess.run(
        [helm, "lint", "--strict", str(CHART)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_chart_renders_what_a_scaled_deployment_needs(objects: list[dict[str, Any]]) -> None:
    kinds = sorted({o["kind"] for o in objects})
    assert kinds == sorted(
        [
            "ClusterRoleBinding",
            "ConfigMap",
            "CronJob",
            "Deployment",
            "Ingress",
            "Job",
            "PodDisruptionBudget",
            "Secret",
            "Service",
            "ServiceAccount",
        ]
    )
    deployment, worker = sorted(by_kind(objects, "Deployment"), key=lambda d: d["metadata"]["name"])
    spec = deployment["spec"]
    assert spec["replicas"] == 3
    pod = spec["template"]["spec"]
    (app,) = pod["containers"]
    assert app["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert app["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert app["resources"]["requests"]["cpu"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert app["securityContext"]["readOnlyRootFilesystem"] is True
    assert app["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["serviceAccountName"] == by_kind(objects, "ServiceAccount")[0]["metadata"]["name"]
    (cron,) = by_kind(objects, "CronJob")
    job_pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert job_pod["containers"][0]["args"][-1] == "periodic"
    (migrate,) = by_kind(objects, "Job")
    assert "pre-upgrade" in migrate["metadata"]["annotations"]["helm.sh/hook"]
    assert migrate["spec"]["template"]["spec"]["containers"][0]["args"][-2:] == [
        "migrate",
        "--noinput",
    ]
    # The Service and the PDB select the web pods, not the periodic or migration pods.
    web = spec["template"]["metadata"]["labels"]
    (service,) = by_kind(objects, "Service")
    assert service["spec"]["selector"] == web
    assert by_kind(objects, "PodDisruptionBudget")[0]["spec"]["selector"]["matchLabels"] == web
    periodic = cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert not all(periodic.get(k) == v for k, v in web.items())
    # The task worker sends what requests and the periodic job queue; it serves nothing.
    worker_pod = worker["spec"]["template"]
    assert worker_pod["spec"]["containers"][0]["args"][2] == "db_worker"
    assert worker_pod["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
    assert not all(worker_pod["metadata"]["labels"].get(k) == v for k, v in web.items())


def test_every_rendered_object_passes_a_server_side_dry_run(
    helm: str, kube_control_plane: ControlPlane, tmp_path: Path
) -> None:
    namespace = f"chart-{uuid.uuid4().hex[:6]}"
    kube_control_plane.ensure_namespace(namespace)
    objects = render(helm, namespace, "--set", "ingress.enabled=true")
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(yaml.safe_dump_all(objects))
    result = kube_control_plane.kubectl(
        "apply", "--dry-run=server", "-n", namespace, "-f", str(manifest), check=False
    )
    assert result.returncode == 0, result.stderr
    applied = [line for line in result.stdout.splitlines() if "(server dry run)" in line]
    assert len(applied) == len(objects), result.stdout
    # The API server does reject a broken object: the dry run is a real check.
    broken = [o for o in objects if o["kind"] == "Deployment"]
    broken[0]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = -1
    manifest.write_text(yaml.safe_dump_all(broken))
    rejected = kube_control_plane.kubectl(
        "apply", "--dry-run=server", "-n", namespace, "-f", str(manifest), check=False
    )
    assert rejected.returncode != 0
