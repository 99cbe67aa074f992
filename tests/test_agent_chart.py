"""The agent's Helm chart and the SecretSync CRD: ``helm lint``, what the chart renders and
what it refuses to render, its RBAC (read from the manifests, then asked of the real
kube-apiserver's authorizer once applied), a server-side dry run of every object, and the
CRD's schema enforced by the real kube-apiserver."""

from __future__ import annotations

import json
import secrets
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import test_helm_chart as server_chart
from tests.test_helm_chart import ROOT, by_kind, merged, values_file
from tools.devstack.pytest_plugin import ControlPlane, KubeAPIError, wait_for

# The helm binary, built once per session by the server chart's fixture.
helm = server_chart.helm

CHART = ROOT / "deploy" / "helm" / "pipeline-secrets-agent"
CRD = ROOT / "deploy" / "crds" / "secretsync.yaml"
GROUP = "secrets.pipeline.io"
SERVER = "https://secrets.example.org"
TOKEN = "psa_" + secrets.token_urlsafe(32)
EXAMPLE: dict[str, Any] = {
    "server": {"url": SERVER},
    "agent": {"tokenSecret": {"name": "agent-token", "key": "token"}},
    "namespaces": ["team-a", "team-b"],
}
# What the agent does and nothing more, per namespace (a Role) or everywhere (a ClusterRole).
RULES = [
    {"apiGroups": [group], "resources": resources.split(), "verbs": verbs.split()}
    for group, resources, verbs in [
        ("", "secrets", "get list watch create update patch delete"),
        ("apps", "deployments statefulsets daemonsets", "get patch"),
        (GROUP, "secretsyncs", "get list watch"),
        (GROUP, "secretsyncs/status", "get update patch"),
    ]
]
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Namespace"}


def template(
    helm: str, values: dict[str, Any], *options: str, namespace: str = "agents"
) -> subprocess.CompletedProcess[str]:
    given = values_file(Path(tempfile.mkdtemp()), values)
    return subprocess.run(
        [helm, "template", "rel", str(CHART), "--namespace", namespace, "-f", given, *options],
        capture_output=True,
        text=True,
        check=False,
    )


def render(
    helm: str, values: dict[str, Any] | None = None, *options: str, namespace: str = "agents"
) -> list[dict[str, Any]]:
    """The chart rendered with EXAMPLE (``values`` merged over it)."""
    result = template(helm, merged(EXAMPLE, values or {}), *options, namespace=namespace)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def the_agent(objects: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Deployment's pod spec and its one container."""
    (deployment,) = by_kind(objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


# --------------------------------------------------------------------------- rendering


def test_helm_lint_passes_strictly(helm: str, tmp_path: Path) -> None:
    for values in (EXAMPLE, {"server": {"url": SERVER}, "agent": {"token": TOKEN}}):
        result = subprocess.run(
            [helm, "lint", "--strict", str(CHART), "-f", values_file(tmp_path, values)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_chart_carries_the_crd_of_deploy_crds_unchanged() -> None:
    copy = CHART / "crds" / "secretsync.yaml"
    assert copy.read_bytes() == CRD.read_bytes(), "copy deploy/crds/secretsync.yaml into crds/"
    (crd,) = [doc for doc in yaml.safe_load_all(CRD.read_text()) if doc]
    assert crd["metadata"]["name"] == f"secretsyncs.{GROUP}"


def test_the_agent_runs_unprivileged_with_the_token_from_the_named_secret(helm: str) -> None:
    objects = render(helm)
    assert not by_kind(objects, "Secret")  # the operator's Secret holds the token
    (deployment,) = by_kind(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod, agent = the_agent(objects)
    assert agent["image"] == "pipeline-secrets:0.1.0"  # the server's image
    assert agent["command"] == ["pipeline-secrets-agent"]
    assert agent["args"] == ["--server", SERVER, "--namespace", "team-a", "--namespace", "team-b"]
    (token,) = agent["env"]
    assert token == {
        "name": "PIPELINE_AGENT_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "agent-token", "key": "token"}},
    }
    assert "ports" not in agent and "livenessProbe" not in agent and "readinessProbe" not in agent
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert agent["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert agent["resources"]["requests"]["memory"] and agent["resources"]["limits"]["memory"]
    # The account's token reaches this pod only (the agent's in-cluster configuration).
    (account,) = by_kind(objects, "ServiceAccount")
    assert account["automountServiceAccountToken"] is False
    assert pod["automountServiceAccountToken"] is True
    assert pod["serviceAccountName"] == account["metadata"]["name"]


def test_a_token_in_values_becomes_the_charts_secret(helm: str) -> None:
    objects = render(
        helm,
        {"agent": {"token": TOKEN, "tokenSecret": {"name": ""}, "resyncInterval": 300}},
        "--set-string",
        "server.caBundle=-----BEGIN CERTIFICATE-----",
    )
    (secret,) = by_kind(objects, "Secret")
    assert secret["stringData"] == {"token": TOKEN}
    _, agent = the_agent(objects)
    env = {item["name"]: item for item in agent["env"]}
    reference = env["PIPELINE_AGENT_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert reference == {"name": secret["metadata"]["name"], "key": "token"}
    assert agent["args"][-2:] == ["--resync-interval", "300"]
    # A private CA for the server: mounted and named for the HTTP client.
    (config,) = by_kind(objects, "ConfigMap")
    assert config["data"]["ca.crt"].startswith("-----BEGIN CERTIFICATE-----")
    bundle = env["SSL_CERT_FILE"]["value"]
    assert any(bundle.startswith(m["mountPath"]) for m in agent["volumeMounts"])


def test_roles_only_in_the_listed_namespaces_with_exactly_the_agents_rules(helm: str) -> None:
    objects = render(helm)
    assert not {o["kind"] for o in objects} & {"ClusterRole", "ClusterRoleBinding"}
    roles, bindings = by_kind(objects, "Role"), by_kind(objects, "RoleBinding")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["team-a", "team-b"]
    (account,) = by_kind(objects, "ServiceAccount")
    for role in roles:
        assert role["rules"] == RULES
    for binding in bindings:
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": roles[0]["metadata"]["name"],
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": "agents"}
        ]
    assert_least_privilege(objects)


def test_watching_every_namespace_is_one_cluster_role_with_the_same_rules(helm: str) -> None:
    objects = render(helm, {"namespaces": []})
    assert not by_kind(objects, "Role") and not by_kind(objects, "RoleBinding")
    (role,) = by_kind(objects, "ClusterRole")
    (binding,) = by_kind(objects, "ClusterRoleBinding")
    assert role["rules"] == RULES
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert role["metadata"]["name"].endswith("-agents")  # one per release namespace
    _, agent = the_agent(objects)
    assert "--namespace" not in agent["args"]
    assert_least_privilege(objects)


def assert_least_privilege(objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        for rule in obj.get("rules", []):
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], (obj["metadata"]["name"], rule)
            assert "resourceNames" not in rule and "nonResourceURLs" not in rule
        if "roleRef" in obj:
            assert obj["roleRef"]["name"] not in {"cluster-admin", "admin", "edit"}
            assert obj["roleRef"]["name"] in {
                o["metadata"]["name"] for o in objects if o["kind"] in {"Role", "ClusterRole"}
            }


REFUSED = [
    ({"server": {"url": ""}}, "server.url is required"),
    ({"server": {"url": "secrets.example.org"}}, "server.url must be an http(s) URL"),
    ({"agent": {"tokenSecret": {"name": ""}}}, "The agent token is required"),
    ({"agent": {"token": TOKEN}}, "agent.token and agent.tokenSecret.name are both set"),
    (
        {"agent": {"token": "change-me", "tokenSecret": {"name": ""}}},
        "agent.token is not an agent token",
    ),
    ({"namespaces": ["Team_A"]}, "/namespaces/0"),
    ({"namespaces": ["team-a", "team-a"]}, "/namespaces"),
    # A misspelt key must not silently widen the grant to every namespace.
    ({"namespace": ["team-a"]}, "additional properties 'namespace' not allowed"),
]


@pytest.mark.parametrize(("override", "message"), REFUSED)
def test_the_chart_refuses_to_render_an_agent_that_could_not_start(
    helm: str, override: dict[str, Any], message: str
) -> None:
    result = template(helm, merged(EXAMPLE, override))
    assert result.returncode != 0 and "kind:" not in result.stdout, result.stdout[:500]
    assert message in result.stderr
    assert TOKEN not in result.stderr


# --------------------------------------------------------------------------- the real API server


def as_helm_installs(objects: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
    """Namespaced objects without a namespace go to the release's, as ``helm install`` does."""
    for obj in objects:
        if obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"].setdefault("namespace", namespace)
    return objects


def kubectl_apply(
    kube: ControlPlane, objects: list[dict[str, Any]], path: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    path.write_text(yaml.safe_dump_all(objects))
    return kube.kubectl("apply", "--server-side", *options, "-f", str(path), check=False)


def namespaces(kube: ControlPlane, count: int) -> list[str]:
    made = [f"agent-{uuid.uuid4().hex[:6]}" for _ in range(count)]
    for namespace in made:
        kube.ensure_namespace(namespace)
    return made


@pytest.mark.parametrize("watched", [2, 0], ids=["namespaced", "every-namespace"])
def test_every_rendered_object_passes_a_server_side_dry_run(
    helm: str, kube_control_plane: ControlPlane, tmp_path: Path, watched: int
) -> None:
    release, *managed = namespaces(kube_control_plane, 1 + watched)
    objects = render(
        helm,
        {"namespaces": managed, "agent": {"token": TOKEN, "tokenSecret": {"name": ""}}},
        "--include-crds",
        namespace=release,
    )
    as_helm_installs(objects, release)
    result = kubectl_apply(kube_control_plane, objects, tmp_path / "all.yaml", "--dry-run=server")
    assert result.returncode == 0, result.stderr
    applied = [line for line in result.stdout.splitlines() if "(server dry run)" in line]
    assert len(applied) == len(objects), result.stdout
    # The dry run is a real check: the API server refuses a broken pod.
    (deployment,) = by_kind(objects, "Deployment")
    deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] = -1
    broken = kubectl_apply(
        kube_control_plane, [deployment], tmp_path / "broken.yaml", "--dry-run=server"
    )
    assert broken.returncode != 0 and "runAsUser" in broken.stderr


def allowed(
    kube: ControlPlane, account: str, namespace: str | None, verb: str, resource: str
) -> bool:
    """What the API server's authorizer answers for ``account`` (a SubjectAccessReview)."""
    resource, _, subresource = resource.partition("/")
    name, _, group = resource.partition(".")
    attributes = {"verb": verb, "group": group, "resource": name, "subresource": subresource}
    if namespace:
        attributes["namespace"] = namespace
    service_account_namespace = account.split(":")[2]
    review = kube.request(
        "POST",
        "/apis/authorization.k8s.io/v1/subjectaccessreviews",
        {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": account,
                "groups": [
                    "system:serviceaccounts",
                    f"system:serviceaccounts:{service_account_namespace}",
                    "system:authenticated",
                ],
                "resourceAttributes": attributes,
            },
        },
    )
    return bool(review["status"].get("allowed"))


# (verb, resource) the agent needs in a managed namespace; resource "name.group/subresource".
NEEDED = [
    ("create", "secrets"),
    ("watch", "secrets"),
    ("delete", "secrets"),
    ("patch", "deployments.apps"),
    ("patch", "statefulsets.apps"),
    ("get", "daemonsets.apps"),
    ("watch", f"secretsyncs.{GROUP}"),
    ("update", f"secretsyncs.{GROUP}/status"),
]
# Never, even in a managed namespace.
BEYOND = [
    ("delete", "deployments.apps"),
    ("create", "pods"),
    ("get", "configmaps"),
    ("create", f"secretsyncs.{GROUP}"),
    ("update", f"secretsyncs.{GROUP}"),
    ("create", "rolebindings.rbac.authorization.k8s.io"),
]


@pytest.mark.parametrize("listed", [True, False], ids=["namespaced", "every-namespace"])
def test_the_granted_rbac_allows_the_agents_work_and_nothing_more(
    helm: str, kube_control_plane: ControlPlane, tmp_path: Path, listed: bool
) -> None:
    kube = kube_control_plane
    release, team_a, team_b, other = namespaces(kube, 4)
    objects = render(helm, {"namespaces": [team_a, team_b] if listed else []}, namespace=release)
    result = kubectl_apply(kube, as_helm_installs(objects, release), tmp_path / "rbac.yaml")
    assert result.returncode == 0, result.stderr
    (account,) = by_kind(objects, "ServiceAccount")
    agent = f"system:serviceaccount:{release}:{account['metadata']['name']}"
    for namespace in (team_a, team_b) if listed else (team_a, other, release):
        for verb, resource in NEEDED:
            assert allowed(kube, agent, namespace, verb, resource), (verb, resource)
        for verb, resource in BEYOND:
            assert not allowed(kube, agent, namespace, verb, resource), resource
    for namespace in (other, release) if listed else ():
        assert not allowed(kube, agent, namespace, "get", "secrets"), namespace
        assert not allowed(kube, agent, namespace, "list", f"secretsyncs.{GROUP}")
    # In every namespace at once (a watch of all): only without a list of namespaces.
    assert allowed(kube, agent, None, "watch", "secrets") is not listed
    assert allowed(kube, agent, None, "list", f"secretsyncs.{GROUP}") is not listed
    assert not allowed(kube, agent, None, "get", "nodes")
    assert not allowed(kube, agent, None, "create", "clusterrolebindings.rbac.authorization.k8s.io")


# --------------------------------------------------------------------------- the SecretSync CRD


@pytest.fixture
def secretsyncs(kube_control_plane: ControlPlane) -> str:
    """The CRD applied from deploy/crds and established; a fresh namespace's collection path."""
    (crd,) = [doc for doc in yaml.safe_load_all(CRD.read_text()) if doc]
    path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}"
    kube_control_plane.apply(path, crd)

    def established() -> bool:
        status = kube_control_plane.request("GET", path).get("status", {})
        return ("Established", "True") in {
            (c["type"], c["status"]) for c in status.get("conditions") or []
        }

    wait_for(established, 30, "the SecretSync CRD")
    (namespace,) = namespaces(kube_control_plane, 1)
    return f"/apis/{GROUP}/v1alpha1/namespaces/{namespace}/secretsyncs"


def create(kube: ControlPlane, path: str, name: str, spec: dict[str, Any]) -> Any:
    """A SecretSync named ``name`` with ``spec``, created (unknown fields refused)."""
    body = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "SecretSync", "metadata": {"name": name}}
    return kube.request("POST", f"{path}?fieldValidation=Strict", {**body, "spec": spec})


VALID = {
    "secretName": "db",
    "target": {"name": "app-db"},
    "spec": {
        "password": {"source": "password"},
        "config.json": {"sourceMap": {"user": "username", "pass": "password"}},
        "all": {},
        "mode": {"value": "primary", "source": ""},
    },
    "workloads": [{"kind": "Deployment", "name": "web"}, {"kind": "StatefulSet", "name": "db"}],
}


def test_a_valid_secretsync_is_stored_and_its_status_is_a_subresource(
    kube_control_plane: ControlPlane, secretsyncs: str
) -> None:
    created = create(kube_control_plane, secretsyncs, "app-db", VALID)
    assert created["spec"] == VALID
    query = {"query": {"type": "password", "tag": "env:dev", "tags": ["team:a", "app"]}}
    assert create(kube_control_plane, secretsyncs, "by-query", query)["spec"] == query
    # The status written through the object itself is ignored; through /status it is kept.
    ready = {"type": "Ready", "status": "True", "reason": "Applied", "message": ""}
    condition = {**ready, "lastTransitionTime": "2026-12-07T04:00:00Z"}
    status = {"conditions": [condition], "appliedVersion": "v-3f2a", "lastError": ""}
    merge = {"content_type": "application/merge-patch+json"}
    kube_control_plane.request("PATCH", f"{secretsyncs}/app-db", {"status": status}, **merge)
    assert "status" not in kube_control_plane.request("GET", f"{secretsyncs}/app-db")
    kube_control_plane.request("PATCH", f"{secretsyncs}/app-db/status", {"status": status}, **merge)
    assert kube_control_plane.request("GET", f"{secretsyncs}/app-db")["status"] == status
    # `kubectl get ssync` shows the printer columns.
    namespace = secretsyncs.split("/")[5]
    shown = kube_control_plane.kubectl(
        "get", "ssync", "-n", namespace, "app-db"
    ).stdout.splitlines()
    assert shown[0].split()[:4] == ["NAME", "READY", "APPLIED", "VERSION"]
    assert shown[1].split()[:3] == ["app-db", "True", "v-3f2a"]


ONE_OF = "give exactly one of secretName or query"
ONE_ITEM = "give one of source, value or sourceMap"
INVALID = [
    ("both", {"secretName": "db", "query": {"type": "password"}}, ONE_OF),
    ("neither", {"target": {"name": "app-db"}}, ONE_OF),
    ("empty-query", {"query": {"tags": []}}, "select secrets by type, tag or tags"),
    ("bad-target", {"secretName": "db", "target": {"name": "App_DB"}}, "spec.target.name"),
    ("no-target-name", {"secretName": "db", "target": {}}, "spec.target.name"),
    ("bad-secret-name", {"secretName": "DB!"}, "spec.secretName"),
    ("bad-tag", {"query": {"tag": "-no"}}, "spec.query.tag"),
    ("bad-kind", {"secretName": "db", "workloads": [{"kind": "Job", "name": "x"}]}, '"Job"'),
    (
        "twice",
        {"secretName": "db", "workloads": [{"kind": "Deployment", "name": "w"}] * 2},
        "Duplicate",
    ),
    ("mapping-with-query", {"query": {"type": "tls"}, "spec": {"a": {}}}, "use it with secretName"),
    ("bad-key", {"secretName": "db", "spec": {"a key": {}}}, "keys may contain only"),
    ("two-sources", {"secretName": "db", "spec": {"k": {"source": "a", "value": "b"}}}, ONE_ITEM),
    ("unknown-member", {"secretName": "db", "spec": {"k": {"sorce": "a"}}}, "unknown field"),
]


@pytest.mark.parametrize(("spec", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_an_invalid_secretsync_is_refused_by_the_api_server(
    kube_control_plane: ControlPlane, secretsyncs: str, spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(KubeAPIError) as refused:
        create(kube_control_plane, secretsyncs, "bad", spec)
    assert refused.value.status in (400, 422)
    assert message in json.loads(refused.value.body)["message"], refused.value.body
    assert kube_control_plane.request("GET", secretsyncs)["items"] == []
