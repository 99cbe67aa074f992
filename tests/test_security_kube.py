"""Kubeconfigs and cluster calls cannot be turned against the server.

A kubeconfig carries inline credentials only and is used at its ``server`` only: no file it
names is read, no plugin run, no proxy or redirect followed, no denied network contacted, and
what a remote server answers is reduced to a status and a reason. A local TCP listener stands
in for a host the caller controls; it records every connection and every byte it receives.
"""

from __future__ import annotations

import json
import logging
import secrets
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client
from rest_framework.test import APIClient

from secrets_app import vault
from secrets_app.models import SecretIndex
from secrets_app.selectors import vault_path
from tests.conftest import Personas
from tests.helpers import assert_problem
from tests.listener import Listener, http_answer
from tests.test_clusters import (
    clusters_url,
    decoded,
    install,
    new_namespace,
    put_foreign_secret,
    read_secret,
    secrets_url,
)
from tests.test_dashboard import signed_in
from tools.devstack.pytest_plugin import ControlPlane

pytestmark = pytest.mark.django_db

FIELD = "values.K8Sconfig"
HTMX = {"HX-Request": "true"}
REFUSED = (
    "tokenFile",
    "client-certificate",
    "client-key",
    "certificate-authority",
    "exec",
    "auth-provider",
    "proxy-url",
)
CLUSTER_KEYS = ("certificate-authority", "proxy-url")


# --------------------------------------------------------------------------- a listener


def status_answer(code: int, reason: str, message: str) -> bytes:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code}
    body |= {"reason": reason, "message": message}
    return http_answer(f"{code} {reason}", json.dumps(body), content_type="application/json")


@pytest.fixture
def listen() -> Iterator[Callable[..., Listener]]:
    started: list[Listener] = []

    def start(answer: bytes | None = None) -> Listener:
        listener = Listener(answer or status_answer(403, "Forbidden", "forbidden"))
        started.append(listener)
        return listener

    yield start
    for listener in started:
        listener.close()


# --------------------------------------------------------------------------- canaries, logs


@pytest.fixture
def canary(tmp_path: Path) -> str:
    return f"canary-{secrets.token_hex(16)}"


@pytest.fixture
def canary_file(tmp_path: Path, canary: str) -> Path:
    path = tmp_path / "stolen.txt"
    path.write_text(canary + "\n")
    return path


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_nowhere(text: str, caplog: pytest.LogCaptureFixture, *responses: Any) -> None:
    """``text`` is in no response body, no log message and no logged traceback."""
    for response in responses:
        assert text not in response.content.decode(errors="replace")
    for record in caplog.records:
        assert text not in record.getMessage()
        if record.exc_info:
            assert text not in "".join(traceback.format_exception(*record.exc_info))
        assert text not in (record.exc_text or "")
    assert text not in caplog.text


# --------------------------------------------------------------------------- kubeconfigs


def kubeconfig(server: str, **extra: Any) -> dict[str, Any]:
    """A well-formed kubeconfig for ``server`` with an inline token; ``extra`` overrides
    top-level keys."""
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "main",
        "contexts": [{"name": "main", "context": {"cluster": "main", "user": "main"}}],
        "clusters": [{"name": "main", "cluster": {"server": server}}],
        "users": [{"name": "main", "user": {"token": "inline-token"}}],
    }
    config.update(extra)
    return config


def refused_value(key: str, path: Path, proxy: str) -> Any:
    if key == "exec":
        return {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "/bin/cat",
            "args": [str(path)],
        }
    if key == "auth-provider":
        return {"name": "oidc", "config": {"id-token": "x", "idp-certificate-authority": str(path)}}
    if key == "proxy-url":
        return proxy
    return str(path)


def with_refused_key(server: str, key: str, where: str, path: Path, proxy: str) -> str:
    """A kubeconfig for ``server`` holding ``key`` in the current context's user or cluster
    (``where="current"``) or in one that no context uses (``where="other"``)."""
    config = kubeconfig(server)
    section, inner = ("clusters", "cluster") if key in CLUSTER_KEYS else ("users", "user")
    value = refused_value(key, path, proxy)
    if where == "current":
        config[section][0][inner][key] = value
    else:
        body: dict[str, Any] = {key: value}
        if inner == "cluster":
            body["server"] = server
        config[section].append({"name": "spare", inner: body})
    return yaml.safe_dump(config)


def create_kubernetes_secret(
    client: APIClient, org_id: int, name: str, text: str, validate: bool = True
) -> Any:
    query = "" if validate else "?validate=false"
    return client.post(
        secrets_url(org_id) + query,
        {"name": name, "type": "kubernetes", "values": {"K8Sconfig": text}},
        format="json",
    )


def register(client: APIClient, org_id: int, name: str, validate: bool = True, **body: Any) -> Any:
    query = "" if validate else "?validate=false"
    return client.post(clusters_url(org_id) + query, {"name": name, **body}, format="json")


def registered(client: APIClient, org_id: int, name: str, text: str) -> dict[str, Any]:
    response = register(client, org_id, name, validate=False, kubeconfig=text)
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


def assert_names_key(response: Any, field: str, key: str, *hidden: str) -> None:
    body = assert_problem(response, 400, field=field)
    message = " ".join(body["errors"][field])
    assert key in message, message
    for value in hidden:
        assert value not in response.content.decode()


# --------------------------------------------------------------------------- files, plugins


@pytest.mark.parametrize("where", ["current", "other"])
@pytest.mark.parametrize("key", REFUSED)
def test_a_kubernetes_secret_naming_a_file_plugin_or_proxy_is_refused(
    vault: Any,
    personas: Personas,
    clients: dict[str, APIClient],
    listen: Callable[..., Listener],
    canary: str,
    canary_file: Path,
    logs: pytest.LogCaptureFixture,
    key: str,
    where: str,
) -> None:
    server, proxy = listen(), listen()
    text = with_refused_key(server.origin, key, where, canary_file, proxy.origin)
    responses = []
    for validate in (True, False):
        response = create_kubernetes_secret(
            clients["admin"], personas.org.pk, f"kc-{int(validate)}", text, validate
        )
        assert_names_key(response, FIELD, key, str(canary_file), proxy.origin)
        responses.append(response)
    assert server.connections == 0 and proxy.connections == 0
    assert not SecretIndex.objects.exists()
    assert_nowhere(canary, logs, *responses)


@pytest.mark.parametrize("key", REFUSED)
def test_a_pasted_cluster_kubeconfig_naming_a_file_plugin_or_proxy_is_refused(
    vault: Any,
    personas: Personas,
    clients: dict[str, APIClient],
    listen: Callable[..., Listener],
    canary: str,
    canary_file: Path,
    logs: pytest.LogCaptureFixture,
    key: str,
) -> None:
    server, proxy = listen(), listen()
    text = with_refused_key(server.origin, key, "other", canary_file, proxy.origin)
    responses = []
    for validate in (True, False):
        response = register(
            clients["admin"], personas.org.pk, f"c-{int(validate)}", validate, kubeconfig=text
        )
        assert_names_key(response, "kubeconfig", key, str(canary_file), proxy.origin)
        responses.append(response)
    page = signed_in(personas, "admin").post(
        f"/orgs/{personas.org.pk}/clusters/new/", {"name": "dash", "kubeconfig": text}
    )
    assert page.status_code == 400
    error_slot = page.content.decode().split('id="id_kubeconfig_error"')[1].split("</div>")[0]
    assert key in error_slot and str(canary_file) not in page.content.decode()
    assert server.connections == 0 and proxy.connections == 0
    assert not SecretIndex.objects.exists()
    assert_nowhere(canary, logs, *responses, page)


def test_a_token_file_holding_json_is_a_400_not_a_500(
    vault: Any,
    personas: Personas,
    clients: dict[str, APIClient],
    listen: Callable[..., Listener],
    canary: str,
    tmp_path: Path,
    logs: pytest.LogCaptureFixture,
) -> None:
    server = listen()
    document = tmp_path / "credentials.json"
    document.write_text(json.dumps({"client_secret": canary, "type": "x"}, indent=2))
    config = kubeconfig(server.origin)
    config["users"][0]["user"] = {"tokenFile": str(document)}
    text = yaml.safe_dump(config)
    secret = create_kubernetes_secret(clients["admin"], personas.org.pk, "kc", text)
    assert_names_key(secret, FIELD, "tokenFile", str(document))
    cluster = register(clients["admin"], personas.org.pk, "c", kubeconfig=text)
    assert_names_key(cluster, "kubeconfig", "tokenFile", str(document))
    assert server.connections == 0
    assert_nowhere(canary, logs, secret, cluster)


def test_an_inline_token_that_is_not_one_header_line_is_a_400(
    vault: Any,
    personas: Personas,
    clients: dict[str, APIClient],
    listen: Callable[..., Listener],
    canary: str,
    logs: pytest.LogCaptureFixture,
) -> None:
    server = listen()
    config = kubeconfig(server.origin)
    config["users"][0]["user"] = {"token": '{\n  "secret": "' + canary + '"\n}'}
    response = create_kubernetes_secret(
        clients["admin"], personas.org.pk, "kc", yaml.safe_dump(config)
    )
    assert_names_key(response, FIELD, "token")
    assert server.connections == 0
    assert_nowhere(canary, logs, response)


# --------------------------------------------------------------------------- malformed


MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    ("contexts-item", {"contexts": [1]}, "contexts[0]"),
    ("current-context-list", {"current-context": ["a"]}, "current-context"),
    ("clusters-item", {"clusters": ["x"]}, "clusters[0]"),
    ("users-mapping", {"users": {"a": "b"}}, "users"),
    ("contexts-mapping", {"contexts": {"main": {}}}, "contexts"),
    ("user-body-list", {"users": [{"name": "main", "user": [1]}]}, "users[0].user"),
    ("cluster-name-number", {"clusters": [{"name": 1, "cluster": {}}]}, "clusters[0].name"),
    (
        "context-cluster-list",
        {"contexts": [{"name": "main", "context": {"cluster": ["main"], "user": "main"}}]},
        "contexts[0].context.cluster",
    ),
    (
        "server-number",
        {"clusters": [{"name": "main", "cluster": {"server": 5}}]},
        "clusters[0].cluster.server",
    ),
    (
        "insecure-string",
        {
            "clusters": [
                {
                    "name": "main",
                    "cluster": {"server": "https://x", "insecure-skip-tls-verify": "yes"},
                }
            ]
        },
        "insecure-skip-tls-verify",
    ),
    (
        "ca-not-base64",
        {
            "clusters": [
                {
                    "name": "main",
                    "cluster": {"server": "https://x", "certificate-authority-data": "@@@"},
                }
            ]
        },
        "certificate-authority-data",
    ),
    ("token-number", {"users": [{"name": "main", "user": {"token": 5}}]}, "token"),
    (
        "server-not-http",
        {"clusters": [{"name": "main", "cluster": {"server": "file:///etc/passwd"}}]},
        "server",
    ),
]


@pytest.mark.parametrize(
    "override, named", [(o, n) for _, o, n in MALFORMED], ids=[i for i, _, _ in MALFORMED]
)
def test_malformed_kubeconfig_nodes_are_400_naming_the_node(
    vault: Any,
    personas: Personas,
    clients: dict[str, APIClient],
    override: dict[str, Any],
    named: str,
) -> None:
    text = yaml.safe_dump(kubeconfig("https://127.0.0.1:1", **override))
    for validate in (True, False):
        secret = create_kubernetes_secret(
            clients["admin"], personas.org.pk, "kc", text, validate=validate
        )
        assert_names_key(secret, FIELD, named)
        cluster = register(clients["admin"], personas.org.pk, "c", validate, kubeconfig=text)
        assert_names_key(cluster, "kubeconfig", named)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just text", "a: [", "when: 2020-13-45\n"])
def test_a_document_that_is_no_kubeconfig_is_400(
    vault: Any, personas: Personas, clients: dict[str, APIClient], text: str
) -> None:
    response = create_kubernetes_secret(clients["admin"], personas.org.pk, "kc", text)
    assert_problem(response, 400, field=FIELD)
    cluster = register(clients["admin"], personas.org.pk, "c", kubeconfig=text)
    assert_problem(cluster, 400, field="kubeconfig")


# --------------------------------------------------------------------------- stored earlier


def store_kubeconfig_directly(org_id: int, secret_id: str, text: str) -> None:
    """Rewrite the secret's Vault document as an earlier release could have stored it."""
    path = vault_path(org_id, secret_id)
    current = vault.read(path)
    assert current is not None
    data = {**current.data, "values": {"K8Sconfig": text}}
    vault.write(path, data, cas=current.version)


def test_a_kubeconfig_stored_earlier_with_a_token_file_is_refused_at_use(
    vault: Any,
    personas: Personas,
    clients: dict[str, APIClient],
    listen: Callable[..., Listener],
    canary: str,
    canary_file: Path,
    logs: pytest.LogCaptureFixture,
) -> None:
    org = personas.org.pk
    server = listen()
    cluster = registered(clients["admin"], org, "old", yaml.safe_dump(kubeconfig(server.origin)))
    config = kubeconfig(server.origin)
    config["users"][0]["user"] = {"tokenFile": str(canary_file)}
    store_kubeconfig_directly(org, cluster["secretId"], yaml.safe_dump(config))
    server.reset()
    detail = f"{clusters_url(org)}/{cluster['id']}"
    checked = clients["member"].get(f"{detail}?check=true")
    assert checked.status_code == 200 and checked.json()["reachable"] is False
    assert "tokenFile" in checked.json()["lastError"]
    clients["member"].post(
        secrets_url(org) + "?validate=false",
        {"name": "payload", "type": "generic", "values": {"k": "v"}, "tags": ["p"]},
        format="json",
    )
    installed = install(
        clients["member"], org, cluster["id"], {"namespace": "team", "query": {"tag": "p"}}
    )
    assert_names_key(installed, "cluster", "tokenFile", str(canary_file))
    validated = clients["admin"].get(f"{secrets_url(org)}/{cluster['secretId']}/validate")
    assert_names_key(validated, FIELD, "tokenFile", str(canary_file))
    again = register(clients["admin"], org, "again", secretId=cluster["secretId"])
    assert_names_key(again, "secretId", "tokenFile", str(canary_file))
    dashboard = signed_in(personas, "member").post(
        f"/orgs/{org}/clusters/{cluster['id']}/check/", headers=HTMX
    )
    assert dashboard.status_code == 200 and "tokenFile" in dashboard.content.decode()
    assert server.connections == 0
    assert_nowhere(canary, logs, checked, installed, validated, again, dashboard)


# --------------------------------------------------------------------------- remote answers


def test_the_remote_error_message_is_never_echoed(
    vault: Any,
    personas: Personas,
    clients: dict[str, APIClient],
    listen: Callable[..., Listener],
    canary: str,
    logs: pytest.LogCaptureFixture,
) -> None:
    org = personas.org.pk
    server = listen(status_answer(403, "Forbidden", f"you sent {canary}"))
    odd = listen(status_answer(403, canary, f"you sent {canary}"))
    cluster = registered(clients["admin"], org, "fake", yaml.safe_dump(kubeconfig(server.origin)))
    assert cluster["reachable"] is False and "403 Forbidden" in cluster["lastError"]
    checked = clients["member"].get(f"{clusters_url(org)}/{cluster['id']}?check=true")
    assert "403 Forbidden" in checked.json()["lastError"]
    secret = create_kubernetes_secret(
        clients["admin"], org, "kc", yaml.safe_dump(kubeconfig(odd.origin))
    )
    body = assert_problem(secret, 400, field=FIELD)
    assert "403 Forbidden" in body["errors"][FIELD][0]
    clients["member"].post(
        secrets_url(org) + "?validate=false",
        {"name": "payload", "type": "generic", "values": {"k": "v"}, "tags": ["p"]},
        format="json",
    )
    installed = install(
        clients["member"], org, cluster["id"], {"namespace": "team", "query": {"tag": "p"}}
    )
    [item] = installed.json()
    assert item["status"] == "failed" and "403 Forbidden" in item["error"]
    assert server.connections >= 2 and odd.connections >= 1
    assert_nowhere(canary, logs, checked, secret, installed)


def test_a_redirect_is_not_followed(
    vault: Any,
    personas: Personas,
    clients: dict[str, APIClient],
    listen: Callable[..., Listener],
) -> None:
    target = listen(http_answer("200 OK", json.dumps({"gitVersion": "v1.0.0"})))
    server = listen(http_answer("302 Found", "{}", location=f"{target.origin}/version"))
    text = yaml.safe_dump(kubeconfig(server.origin))
    cluster = registered(clients["admin"], personas.org.pk, "moved", text)
    assert cluster["reachable"] is False and "302" in cluster["lastError"]
    secret = create_kubernetes_secret(clients["admin"], personas.org.pk, "kc", text)
    assert_problem(secret, 400, field=FIELD)
    assert server.connections >= 2
    assert target.connections == 0


def test_a_proxy_from_the_environment_is_not_used(
    vault: Any,
    personas: Personas,
    clients: dict[str, APIClient],
    listen: Callable[..., Listener],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, proxy = listen(), listen()
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy"):
        monkeypatch.setenv(name, proxy.origin)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    registered(
        clients["admin"], personas.org.pk, "direct", yaml.safe_dump(kubeconfig(server.origin))
    )
    assert server.connections >= 1 and proxy.connections == 0


# --------------------------------------------------------------------------- denied networks


def test_a_server_in_a_denied_network_is_never_contacted(
    vault: Any,
    personas: Personas,
    clients: dict[str, APIClient],
    listen: Callable[..., Listener],
    settings: Any,
) -> None:
    org = personas.org.pk
    server = listen()
    text = yaml.safe_dump(kubeconfig(server.origin))
    earlier = registered(clients["admin"], org, "earlier", text)
    clients["member"].post(
        secrets_url(org) + "?validate=false",
        {"name": "payload", "type": "generic", "values": {"k": "v"}, "tags": ["p"]},
        format="json",
    )
    server.reset()
    settings.OUTBOUND_DENY_NETWORKS = ["127.0.0.0/8"]

    secret = create_kubernetes_secret(clients["admin"], org, "kc", text)
    assert_names_key(secret, FIELD, "OUTBOUND_DENY_NETWORKS")
    for validate in (True, False):
        pasted = register(clients["admin"], org, f"c-{int(validate)}", validate, kubeconfig=text)
        assert_names_key(pasted, "kubeconfig", "OUTBOUND_DENY_NETWORKS")
    unchecked = create_kubernetes_secret(clients["admin"], org, "kc", text, validate=False)
    assert unchecked.status_code == 201
    by_id = register(clients["admin"], org, "by-id", secretId=unchecked.json()["id"])
    assert_names_key(by_id, "secretId", "OUTBOUND_DENY_NETWORKS")
    checked = clients["member"].get(f"{clusters_url(org)}/{earlier['id']}?check=true")
    assert "OUTBOUND_DENY_NETWORKS" in checked.json()["lastError"]
    installed = install(
        clients["member"], org, earlier["id"], {"namespace": "team", "query": {"tag": "p"}}
    )
    assert_names_key(installed, "cluster", "OUTBOUND_DENY_NETWORKS")
    assert server.connections == 0


def test_an_address_denied_at_connect_time_gets_no_request(
    vault: Any,
    personas: Personas,
    clients: dict[str, APIClient],
    listen: Callable[..., Listener],
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A name may resolve to an allowed address when checked and to a denied one when the
    # client connects: the connected address is checked too, before anything is sent.
    from pipeline_secrets.core import outbound

    server = listen()
    settings.OUTBOUND_DENY_NETWORKS = ["127.0.0.0/8"]
    monkeypatch.setattr(outbound, "check_url", lambda url: None)
    cluster = registered(
        clients["admin"], personas.org.pk, "rebound", yaml.safe_dump(kubeconfig(server.origin))
    )
    assert cluster["reachable"] is False
    assert "OUTBOUND_DENY_NETWORKS" in cluster["lastError"]
    assert server.received == b""


# --------------------------------------------------------------------------- roles


def test_a_viewer_cannot_make_the_server_contact_a_cluster(
    vault: Any,
    personas: Personas,
    clients: dict[str, APIClient],
    listen: Callable[..., Listener],
) -> None:
    org = personas.org.pk
    server = listen()
    cluster = registered(
        clients["admin"], org, "watched", yaml.safe_dump(kubeconfig(server.origin))
    )
    server.reset()
    detail = f"{clusters_url(org)}/{cluster['id']}"
    assert_problem(clients["viewer"].get(f"{detail}?check=true"), 403)
    assert clients["viewer"].get(detail).status_code == 200
    page = signed_in(personas, "viewer").post(f"/orgs/{org}/clusters/{cluster['id']}/check/")
    assert page.status_code == 403
    assert server.connections == 0
    assert clients["member"].get(f"{detail}?check=true").status_code == 200
    assert server.connections >= 1


def test_only_an_admin_may_overwrite_a_secret_the_product_does_not_manage(
    vault: Any,
    personas: Personas,
    clients: dict[str, APIClient],
    kube_control_plane: ControlPlane,
) -> None:
    org = personas.org.pk
    response = register(
        clients["admin"], org, "dev", kubeconfig=kube_control_plane.admin_kubeconfig()
    )
    assert response.status_code == 201, response.content
    cluster = response.json()
    clients["member"].post(
        secrets_url(org) + "?validate=false",
        {"name": "shared", "type": "generic", "values": {"k": "ours"}, "tags": ["x"]},
        format="json",
    )
    namespace = new_namespace("owned")
    put_foreign_secret(kube_control_plane, namespace, "shared")
    body = {"namespace": namespace, "query": {"tag": "x"}, "overwrite": True}
    refused = install(clients["member"], org, cluster["id"], body)
    assert "admin role" in assert_problem(refused, 403)["detail"]
    page = signed_in(personas, "member").post(
        f"/orgs/{org}/clusters/{cluster['id']}/install/",
        {"namespace": namespace, "tags": "x", "overwrite": "on"},
    )
    assert page.status_code == 403 and "admin role" in page.content.decode()
    assert decoded(read_secret(kube_control_plane, namespace, "shared")) == {"k": "theirs"}
    member_form = signed_in(personas, "member").get(f"/orgs/{org}/clusters/{cluster['id']}/")
    assert 'name="overwrite"' not in member_form.content.decode()
    forced = install(clients["admin"], org, cluster["id"], body)
    assert forced.status_code == 200 and forced.json()[0]["status"] == "updated"
    assert decoded(read_secret(kube_control_plane, namespace, "shared")) == {"k": "ours"}
    admin_form = signed_in(personas, "admin").get(f"/orgs/{org}/clusters/{cluster['id']}/")
    assert 'name="overwrite"' in admin_form.content.decode()


def test_the_install_form_refuses_overwrite_for_a_member_over_htmx(
    vault: Any,
    personas: Personas,
    clients: dict[str, APIClient],
    listen: Callable[..., Listener],
) -> None:
    org = personas.org.pk
    server = listen()
    cluster = registered(clients["admin"], org, "dash", yaml.safe_dump(kubeconfig(server.origin)))
    clients["member"].post(
        secrets_url(org) + "?validate=false",
        {"name": "payload", "type": "generic", "values": {"k": "v"}, "tags": ["p"]},
        format="json",
    )
    server.reset()
    browser = Client()
    browser.force_login(personas.member)
    page = browser.post(
        f"/orgs/{org}/clusters/{cluster['id']}/install/",
        {"namespace": "team", "tags": "p", "overwrite": "on"},
        headers=HTMX,
    )
    assert page.status_code == 403
    assert server.connections == 0
