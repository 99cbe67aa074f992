"""The Helm chart: ``helm lint``, ``helm template``, every rendered object applied with a
server-side dry run against the real kube-apiserver (its admission and validation), the
values it refuses, and its probes sent to the app configured as the chart configures it."""

from __future__ import annotations

import http.client
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import VaultServer
from tests.live_app import live_app
from tools.devstack.pytest_plugin import ControlPlane

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


# What an operator must set (the chart refuses to render without it).
SECRET_KEY = "q8Vh2nX0tLw5Rk7bZp3Ys6Jd9Gc4Mf1Ue8Na2Ti5Ko0Hr7"
DB_PASSWORD = "b7Qe2Zr9Lx4Wn6"
CONFIGURED: dict[str, Any] = {
    "secret": {
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": f"postgres://pipeline:{DB_PASSWORD}@postgres:5432/pipeline_secrets",
    },
    "config": {"ALLOWED_HOSTS": "secrets.example.org"},
    "ingress": {"host": "secrets.example.org"},
    "network": {"podCIDRs": ["10.42.0.0/16"], "serviceCIDRs": ["10.43.0.0/16", "fd00:43::/112"]},
}


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merged(out[key], value) if both else value
    return out


def values_file(directory: Path, values: dict[str, Any]) -> str:
    path = directory / f"values-{uuid.uuid4().hex[:8]}.yaml"
    path.write_text(yaml.safe_dump(values))
    return str(path)


def run_template(helm: str, namespace: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [helm, "template", "rel", str(CHART), "--namespace", namespace, *options],
        capture_output=True,
        text=True,
        check=False,
    )


def render(
    helm: str, namespace: str, *options: str, values: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The chart rendered with CONFIGURED (and ``values`` over it), then ``options``."""
    given = values_file(Path(tempfile.mkdtemp()), merged(CONFIGURED, values or {}))
    result = run_template(helm, namespace, "-f", given, *options)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture
def objects(helm: str) -> Iterator[list[dict[str, Any]]]:
    yield render(helm, "apps", "--set", "ingress.enabled=true", "--set", "replicaCount=3")


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def test_helm_lint_passes(helm: str, tmp_path: Path) -> None:
    given = values_file(tmp_path, CONFIGURED)
    result = subprocess.run(
        [helm, "lint", "--strict", str(CHART), "-f", given],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_chart_renders_what_a_scaled_deployment_needs(objects: list[dict[str, Any]]) -> None:
    kinds = sorted({o["kind"] for o in objects})
    assert kinds == sorted(
        [
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
    objects = render(
        helm,
        namespace,
        "--set",
        "ingress.enabled=true",
        "--set",
        "serviceAccount.authDelegator=true",
    )
    assert "ClusterRoleBinding" in {o["kind"] for o in objects}
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


# --------------------------------------------------------------------------- safe defaults


def refusal(helm: str, tmp_path: Path, values: dict[str, Any]) -> str:
    """helm template's error for ``values`` (over the chart's defaults alone); it must fail
    and render nothing."""
    result = run_template(helm, "apps", "-f", values_file(tmp_path, values))
    assert result.returncode != 0 and "kind:" not in result.stdout, result.stdout[:500]
    return result.stderr


def test_the_defaults_refuse_to_render_with_a_clear_message(helm: str, tmp_path: Path) -> None:
    stderr = refusal(helm, tmp_path, {})
    assert "secret.DJANGO_SECRET_KEY is empty" in stderr and "openssl rand" in stderr


REFUSED = [
    ({"secret": {"DJANGO_SECRET_KEY": "change-me"}}, "DJANGO_SECRET_KEY is a placeholder"),
    ({"secret": {"DJANGO_SECRET_KEY": "CHANGEME-" + "a" * 40}}, "is a placeholder"),
    ({"secret": {"DJANGO_SECRET_KEY": "s3cr3t-but-short"}}, "DJANGO_SECRET_KEY is too short"),
    ({"secret": {"DATABASE_URL": ""}}, "secret.DATABASE_URL is empty"),
    (
        {"secret": {"DATABASE_URL": "postgres://pipeline:change-me@postgres:5432/ps"}},
        "database password is a placeholder",
    ),
    (
        {"secret": {"DATABASE_URL": "postgres://pipeline@postgres:5432/ps"}},
        "has no database password",
    ),
    ({"secret": {"DATABASE_URL": "sqlite:////tmp/db.sqlite3"}}, "must be a PostgreSQL URL"),
    ({"secret": {"METRICS_TOKEN": "change-me"}}, "METRICS_TOKEN is a placeholder"),
    ({"config": {"ALLOWED_HOSTS": ""}}, "config.ALLOWED_HOSTS is empty"),
    ({"ingress": {"enabled": True, "host": ""}}, "ingress.host is empty"),
    ({"network": {"podCIDRs": []}}, "network.podCIDRs and network.serviceCIDRs are required"),
    ({"network": {"serviceCIDRs": []}}, "network.podCIDRs and network.serviceCIDRs are required"),
]


@pytest.mark.parametrize(("override", "message"), REFUSED)
def test_unsafe_or_missing_values_refuse_to_render(
    helm: str, tmp_path: Path, override: dict[str, Any], message: str
) -> None:
    assert message in refusal(helm, tmp_path, merged(CONFIGURED, override))


def test_an_existing_secret_is_the_operators_to_fill(helm: str) -> None:
    objects = render(helm, "apps", values={"existingSecret": "ops-env", "secret": {}})
    assert not [o for o in objects if o["kind"] == "Secret"]
    for deployment in by_kind(objects, "Deployment"):  # the web pods and the worker
        env_from = deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        assert {"secretRef": {"name": "ops-env"}} in env_from


def test_the_auth_delegator_binding_needs_vaults_kubernetes_auth(helm: str) -> None:
    def bindings(values: dict[str, Any]) -> list[dict[str, Any]]:
        return by_kind(render(helm, "apps", values=values), "ClusterRoleBinding")

    assert bindings({}) == []
    on = {"serviceAccount": {"authDelegator": True}}
    assert bindings({**on, "config": {"VAULT_AUTH_METHOD": "token"}}) == []
    (binding,) = bindings({**on, "config": {"VAULT_AUTH_METHOD": "kubernetes"}})
    assert binding["roleRef"]["name"] == "system:auth-delegator"


def test_outbound_calls_never_reach_the_clusters_own_networks(helm: str) -> None:
    (config,) = [
        o
        for o in render(helm, "apps")
        if o["kind"] == "ConfigMap" and "annotations" not in o["metadata"]
    ]
    denied = config["data"]["OUTBOUND_DENY_NETWORKS"].split(",")
    for network in ("10.42.0.0/16", "10.43.0.0/16", "fd00:43::/112", "127.0.0.0/8", "::1/128"):
        assert network in denied
    assert "169.254.0.0/16" in denied and "fe80::/10" in denied
    # Behind the Ingress, login limits count the address its controller appends.
    assert config["data"]["TRUSTED_PROXY_COUNT"] == "0"
    (behind,) = [
        o
        for o in render(helm, "apps", "--set", "ingress.enabled=true")
        if o["metadata"]["name"] == "rel-config"
    ]
    assert behind["data"]["TRUSTED_PROXY_COUNT"] == "1"


def hook(obj: dict[str, Any]) -> tuple[set[str], int]:
    annotations = obj["metadata"].get("annotations") or {}
    events = set(filter(None, annotations.get("helm.sh/hook", "").split(",")))
    return events, int(annotations.get("helm.sh/hook-weight", "0"))


def test_the_migration_hook_finds_what_it_reads_already_made(helm: str) -> None:
    """Helm makes pre-install hooks before the release's own objects: whatever the Job
    reads must be a hook of the same events with a lower weight."""
    objects = render(helm, "apps")
    (job,) = by_kind(objects, "Job")
    events, weight = hook(job)
    assert events == {"pre-install", "pre-upgrade"}
    pod = job["spec"]["template"]["spec"]
    assert pod.get("serviceAccountName", "default") == "default"
    assert pod["automountServiceAccountToken"] is False
    refs = [
        (kind, source[key]["name"])
        for source in pod["containers"][0]["envFrom"]
        for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret"))
        if key in source
    ]
    assert {kind for kind, _ in refs} == {"ConfigMap", "Secret"}
    for kind, name in refs:
        (made,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
        made_events, made_weight = hook(made)
        assert made_events == events and made_weight < weight, name
    # The copies hold what the release's own objects hold.
    migrate_secret = next(o for o in objects if o["metadata"]["name"] == refs[1][1])
    assert migrate_secret["stringData"]["DJANGO_SECRET_KEY"] == SECRET_KEY


# --------------------------------------------------------------------------- probes


def container_env(objects: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str]:
    """The environment the chart gives ``container``: its ConfigMap and Secret, then env."""
    env: dict[str, str] = {}
    for source in container["envFrom"]:
        if "configMapRef" in source:
            name, kind, field = source["configMapRef"]["name"], "ConfigMap", "data"
        else:
            name, kind, field = source["secretRef"]["name"], "Secret", "stringData"
        (obj,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
        env.update(obj[field])
    env.update({item["name"]: item["value"] for item in container.get("env", [])})
    return env


def probe(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_the_rendered_probes_pass_against_the_app_as_the_chart_configures_it(
    helm: str, vault: VaultServer, tmp_path: Path
) -> None:
    token = "scrape-" + uuid.uuid4().hex
    objects = render(
        helm,
        "apps",
        values={
            "config": {"VAULT_AUTH_METHOD": "token"},
            "secret": {"VAULT_TOKEN": vault.app_token, "METRICS_TOKEN": token},
        },
    )
    (deployment,) = [o for o in by_kind(objects, "Deployment") if o["metadata"]["name"] == "rel"]
    (app,) = deployment["spec"]["template"]["spec"]["containers"]
    env = container_env(objects, app)
    assert env["ALLOWED_HOSTS"] == "secrets.example.org" and env["VAULT_TOKEN"] == vault.app_token
    # Where things are on this machine, not what the app accepts: the test database, the
    # test's OpenBao, writable directories.
    env.pop("DATABASE_URL")  # live_app's default: the test database
    env.update(
        VAULT_ADDR=vault.server.addr,
        DATA_DIR=str(tmp_path / "data"),
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    ports = {p["name"]: p["containerPort"] for p in app["ports"]}
    with live_app(tmp_path, env) as served:
        for name in ("livenessProbe", "readinessProbe"):
            get = app[name]["httpGet"]
            port = ports.get(get["port"], get["port"])
            # A kubelet names the pod's address unless the probe sets a Host header.
            headers = {"Host": f"10.42.3.17:{port}", "User-Agent": "kube-probe/1.37"}
            headers.update({h["name"]: h["value"] for h in get.get("httpHeaders", [])})
            status, body = probe(served.port, get["path"], headers)
            assert status == 200, (name, body[:300])
        pod_host = {"Host": "10.42.3.17:8080"}
        # The host check still holds everywhere else.
        assert probe(served.port, "/accounts/login/", pod_host)[0] == 400
        # /metrics: only with the token, whatever the host.
        assert probe(served.port, "/metrics", pod_host)[0] == 401
        scraped = probe(served.port, "/metrics", {**pod_host, "Authorization": f"Bearer {token}"})
        assert scraped[0] == 200 and b"pipeline_secrets_http_requests_total" in scraped[1]
