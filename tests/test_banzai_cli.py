"""The original product's own command-line client works against ours, unmodified.

Every ``banzai secret`` command and ``banzai organization list`` is run as a user of the
original product would run it, against the live server (real OpenBao; for installs, the real
kube-apiserver). Each test checks what the client prints and what the server then holds:
the API, Vault, the index table and the Secrets in the cluster.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pexpect
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from clusters.models import Installation
from orgs import services as org_services
from secrets_app.models import SecretIndex
from tests.compat_cli import BanzaiCli, Result, answer, expect_one_of, expect_prompt, plain
from tests.conftest import Personas, VaultServer, token_client
from tools.devstack.pytest_plugin import ControlPlane

pytestmark = pytest.mark.original_reference("cli")

HIDDEN = "<hidden>"
_namespaces = itertools.count()


@pytest.fixture
def api(personas: Personas) -> APIClient:
    """The API as the admin, to arrange secrets and read back what the server holds."""
    return token_client(personas.admin)


@pytest.fixture
def banzai(
    vault: VaultServer, personas: Personas, live_server: Any, tmp_path: Path
) -> Iterator[BanzaiCli]:
    """The client, configured for org A with an API token of its admin."""
    _, token = org_services.token_create(user=personas.admin, name="banzai-cli")
    home = tmp_path / "home"
    home.mkdir()
    cli = BanzaiCli(
        home=home, base_url=live_server.url, token=token, organization_id=personas.org.pk
    )
    cli.write_config()
    yield cli


def secrets_url(personas: Personas) -> str:
    return f"/api/v1/orgs/{personas.org.pk}/secrets"


def create(
    api: APIClient,
    personas: Personas,
    name: str,
    type: str,
    values: dict[str, str],
    tags: tuple[str, ...] = (),
) -> dict[str, Any]:
    response = api.post(
        secrets_url(personas),
        {"name": name, "type": type, "values": values, "tags": list(tags)},
        format="json",
    )
    assert response.status_code == 201, response.content
    created: dict[str, Any] = response.json()
    return created


def stored(api: APIClient, personas: Personas, secret_id: str) -> dict[str, Any]:
    response = api.get(f"{secrets_url(personas)}/{secret_id}")
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def in_vault(vault: VaultServer, personas: Personas, secret_id: str) -> dict[str, Any] | None:
    """The secret's current values in Vault, or None when Vault holds no such secret."""
    try:
        answer = vault.root.secrets.kv.v2.read_secret_version(
            path=f"orgs/{personas.org.pk}/{secret_id}",
            mount_point=settings.VAULT_MOUNT,
            raise_on_deleted_version=True,
        )
    except hvac.exceptions.InvalidPath:
        return None
    values: dict[str, Any] = answer["data"]["data"]["values"]
    return values


def shown_one(result: Result) -> dict[str, Any]:
    """The one secret ``get`` and ``create`` print (as a list of one with ``-o json``)."""
    shown = result.json()
    assert isinstance(shown, list) and len(shown) == 1, shown
    item: dict[str, Any] = shown[0]
    return item


def indexed(personas: Personas, secret_id: str) -> SecretIndex | None:
    return SecretIndex.objects.filter(organization=personas.org, secret_id=secret_id).first()


# --------------------------------------------------------------------------- organizations


def test_organization_list_shows_the_callers_organizations(
    banzai: BanzaiCli, personas: Personas
) -> None:
    listed = banzai.run("organization", "list", "-o", "json").json()
    assert [(o["Id"], o["Name"]) for o in listed] == [(personas.org.pk, personas.org.name)]


# --------------------------------------------------------------------------- list and get


def test_secret_list_shows_every_secret_with_masked_values(
    banzai: BanzaiCli, api: APIClient, personas: Personas
) -> None:
    db = create(api, personas, "db", "password", {"username": "u", "password": "p"}, ("cli",))
    conf = create(api, personas, "conf", "generic", {"a": "1", "b": "2"})
    listed = banzai.run("secret", "list", "-o", "json").json()
    by_id = {item["id"]: item for item in listed}
    assert set(by_id) == {db["id"], conf["id"]}
    assert by_id[db["id"]]["name"] == "db" and by_id[db["id"]]["type"] == "password"
    assert by_id[db["id"]]["tags"] == ["cli"]
    assert by_id[db["id"]]["values"] == {"username": HIDDEN, "password": HIDDEN}
    assert by_id[conf["id"]]["values"] == {"a": HIDDEN, "b": HIDDEN}
    server = api.get(secrets_url(personas)).json()
    assert {item["id"] for item in server} == set(by_id)


def test_secret_list_filters_by_type_and_refuses_an_unknown_one(
    banzai: BanzaiCli, api: APIClient, personas: Personas
) -> None:
    create(api, personas, "db", "password", {"username": "u", "password": "p"})
    conf = create(api, personas, "conf", "generic", {"a": "1"})
    listed = banzai.run("secret", "list", "-t", "generic", "-o", "json").json()
    assert [(item["id"], item["type"]) for item in listed] == [(conf["id"], "generic")]
    bogus = banzai.run("secret", "list", "-t", "bogus", "-o", "json")
    assert bogus.returncode != 0
    assert "could not list secrets" in bogus.stderr and "400" in bogus.stderr, bogus.stderr


def test_secret_get_by_name_and_by_id_shows_the_values_unless_hidden(
    banzai: BanzaiCli, api: APIClient, personas: Personas, vault: VaultServer
) -> None:
    db = create(api, personas, "db", "password", {"username": "u", "password": "s3cret"})
    by_name = shown_one(banzai.run("secret", "get", "--name", "db", "-o", "json"))
    positional = shown_one(banzai.run("secret", "get", "db", "-o", "json"))
    by_id = shown_one(banzai.run("secret", "get", "--id", db["id"], "-o", "json"))
    for shown in (by_name, positional, by_id):
        assert shown["id"] == db["id"] and shown["name"] == "db"
        assert shown["values"] == {"username": "u", "password": "s3cret"}
    assert in_vault(vault, personas, db["id"]) == by_id["values"]
    for args in (("--name", "db"), ("--id", db["id"])):
        hidden = shown_one(banzai.run("secret", "get", *args, "--hide", "-o", "json"))
        assert hidden["id"] == db["id"]
        assert hidden["values"] == {"username": HIDDEN, "password": HIDDEN}
    missing = banzai.run("secret", "get", "--name", "nope")
    assert missing.returncode != 0 and "can't find secret named" in missing.stderr


# --------------------------------------------------------------------------- create


def test_secret_create_from_json_on_stdin(
    banzai: BanzaiCli, api: APIClient, personas: Personas, vault: VaultServer
) -> None:
    request = {
        "name": "db",
        "type": "password",
        "values": {"username": "u", "password": "p"},
        "tags": ["cli", "app"],
    }
    created = shown_one(banzai.run("secret", "create", "-o", "json", stdin=request))
    assert created["name"] == "db" and created["type"] == "password" and created["id"]
    held = stored(api, personas, created["id"])
    assert held["values"] == {"username": "u", "password": "p"}
    assert sorted(held["tags"]) == ["app", "cli"]
    assert in_vault(vault, personas, created["id"]) == {"username": "u", "password": "p"}
    row = indexed(personas, created["id"])
    assert row is not None and row.name == "db" and sorted(row.keys) == ["password", "username"]


def test_secret_create_from_flags_with_values_on_stdin(
    banzai: BanzaiCli, api: APIClient, personas: Personas, vault: VaultServer
) -> None:
    flags = ("--name", "conf", "--type", "generic", "--tag", "cli", "--tag", "my-application")
    printed = banzai.run(
        "secret", "create", *flags, "-o", "json", stdin={"values": {"LOG_LEVEL": "debug"}}
    )
    created = shown_one(printed)
    assert created["name"] == "conf" and created["type"] == "generic"
    held = stored(api, personas, created["id"])
    assert held["values"] == {"LOG_LEVEL": "debug"}
    assert sorted(held["tags"]) == ["cli", "my-application"]
    assert in_vault(vault, personas, created["id"]) == {"LOG_LEVEL": "debug"}


def test_secret_create_without_values_is_refused(banzai: BanzaiCli, personas: Personas) -> None:
    refused = banzai.run(
        "secret", "create", "--name", "empty", "--type", "generic", stdin={"tags": ["x"]}
    )
    assert refused.returncode != 0
    assert "400" in refused.stderr and "values" in refused.stderr, refused.stderr
    assert not SecretIndex.objects.filter(organization=personas.org, name="empty").exists()


def _printed_secret(output: str) -> dict[str, Any]:
    """The secret printed after the questions: a JSON list of one, on lines of its own."""
    text = "\n" + plain(output)
    value, _ = json.JSONDecoder().raw_decode(text[text.rindex("\n[") + 1 :])
    assert isinstance(value, list) and len(value) == 1, text
    item: dict[str, Any] = value[0]
    return item


def test_secret_create_interactive_answers_the_type_fields_and_tags_questions(
    banzai: BanzaiCli, api: APIClient, personas: Personas, vault: VaultServer
) -> None:
    """The questions come from GET /secret-types: a field a client need not send (the
    password, generated when left empty) is accepted empty."""
    fields = api.get("/api/v1/secret-types/password").json()["fields"]
    assert [f["name"] for f in fields] == ["username", "password"]
    child = banzai.spawn("secret", "create", "--interactive", "-o", "json")
    try:
        answer(child, "Secret name", "db\r")
        # The type list filters as one types; Enter takes the first match.
        expect_prompt(child, "Choose secret type:")
        child.send("password")
        expect_prompt(child, "> password")
        child.send("\r")
        answer(child, "username", "alice\r")
        expect_prompt(child, "password")
        child.send("\r")
        index = expect_one_of(child, ["Do you want to add tag(s)", "Value is required"])
        assert index == 0, "the client insists on the generated password: it is `required`"
        child.send("y\r")
        answer(child, "Tag:", "cli\r")
        answer(child, "Tag:", "\r")  # the default, "skip", ends the tags
        expect_one_of(child, [pexpect.EOF])
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, plain(child.before or "")
    created = _printed_secret(child.before or "")
    assert created["name"] == "db" and created["type"] == "password"
    held = stored(api, personas, created["id"])
    assert held["tags"] == ["cli"]
    assert held["values"]["username"] == "alice"
    assert len(held["values"]["password"]) >= 12  # generated, since it was left empty
    assert in_vault(vault, personas, created["id"]) == held["values"]


# --------------------------------------------------------------------------- delete


def test_secret_delete_by_name_and_by_id(
    banzai: BanzaiCli, api: APIClient, personas: Personas, vault: VaultServer
) -> None:
    first = create(api, personas, "first", "generic", {"a": "1"})
    second = create(api, personas, "second", "generic", {"b": "2"})
    kept = create(api, personas, "kept", "generic", {"c": "3"})
    by_name = banzai.run("secret", "delete", "--name", "first")
    assert by_name.returncode == 0, by_name.stderr
    assert f'secret "{first["id"]}" deleted' in by_name.stdout
    by_id = banzai.run("secret", "delete", second["id"])
    assert by_id.returncode == 0, by_id.stderr
    assert f'secret "{second["id"]}" deleted' in by_id.stdout
    for gone in (first, second):
        assert api.get(f"{secrets_url(personas)}/{gone['id']}").status_code == 404
        assert in_vault(vault, personas, gone["id"]) is None
        assert indexed(personas, gone["id"]) is None
    assert in_vault(vault, personas, kept["id"]) == {"c": "3"}
    missing = banzai.run("secret", "delete", "--name", "first")
    assert missing.returncode != 0 and 'could not find secret named "first"' in missing.stdout


# --------------------------------------------------------------------------- install


def new_namespace() -> str:
    return f"cli-{int(time.time() * 1000) % 10**8}-{next(_namespaces)}"


@pytest.fixture
def cluster_id(
    api: APIClient, personas: Personas, vault: VaultServer, kube_control_plane: ControlPlane
) -> int:
    response = api.post(
        f"/api/v1/orgs/{personas.org.pk}/clusters",
        {"name": "dev", "kubeconfig": kube_control_plane.admin_kubeconfig()},
        format="json",
    )
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def kube_data(control_plane: ControlPlane, namespace: str, name: str) -> dict[str, str]:
    secret = control_plane.request("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
    return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}


def assert_tracked(
    api: APIClient, personas: Personas, cluster_id: int, secret_id: str, kube_name: str, ns: str
) -> None:
    """The installed copy is recorded, and the cluster's secret list shows the secret."""
    assert Installation.objects.filter(
        cluster_id=cluster_id, secret_id=secret_id, kube_name=kube_name, namespace=ns
    ).exists()
    listed = api.get(f"/api/v1/orgs/{personas.org.pk}/clusters/{cluster_id}/secrets").json()
    assert secret_id in [item.get("id") for item in listed], listed


def test_secret_install_without_spec_copies_every_field(
    banzai: BanzaiCli,
    api: APIClient,
    personas: Personas,
    cluster_id: int,
    kube_control_plane: ControlPlane,
) -> None:
    db = create(api, personas, "db", "generic", {"user": "u", "pass": "p"})
    namespace = new_namespace()
    result = banzai.run(
        "secret",
        "install",
        "--name",
        "db",
        "--cluster",
        str(cluster_id),
        stdin={"namespace": namespace},
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert "secret installed to cluster" in result.stderr
    assert kube_data(kube_control_plane, namespace, "db") == {"user": "u", "pass": "p"}
    assert_tracked(api, personas, cluster_id, db["id"], "db", namespace)


def test_secret_install_with_spec_maps_the_keys(
    banzai: BanzaiCli,
    api: APIClient,
    personas: Personas,
    cluster_id: int,
    kube_control_plane: ControlPlane,
) -> None:
    db = create(api, personas, "db", "password", {"username": "u", "password": "p"})
    namespace = new_namespace()
    request = {
        "namespace": namespace,
        "sourceSecretName": "db",
        "spec": {
            "DB_USER": {"source": "username"},
            "MODE": {"value": "read-only"},
            "CREDS": {"sourceMap": {"login": "username", "secret": "password"}},
        },
    }
    result = banzai.run(
        "secret", "install", "--name", "app-db", "--cluster", str(cluster_id), stdin=request
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    data = kube_data(kube_control_plane, namespace, "app-db")
    assert set(data) == {"DB_USER", "MODE", "CREDS"}
    assert data["DB_USER"] == "u" and data["MODE"] == "read-only"
    assert json.loads(data["CREDS"]) == {"login": "u", "secret": "p"}
    assert_tracked(api, personas, cluster_id, db["id"], "app-db", namespace)


def test_secret_install_merge_adds_keys_to_an_existing_secret(
    banzai: BanzaiCli,
    api: APIClient,
    personas: Personas,
    cluster_id: int,
    kube_control_plane: ControlPlane,
) -> None:
    create(api, personas, "db", "password", {"username": "u", "password": "p"})
    namespace = new_namespace()
    kube_control_plane.ensure_namespace(namespace)
    kube_control_plane.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "shared"},
            "stringData": {"k": "theirs"},
        },
    )
    request = {
        "namespace": namespace,
        "sourceSecretName": "db",
        "spec": {"DB_USER": {"source": "username"}},
    }
    args = ("secret", "install", "--name", "shared", "--cluster", str(cluster_id))
    refused = banzai.run(*args, stdin=request)
    assert refused.returncode != 0
    assert "already installed" in refused.stderr, refused.stderr  # the server's 409
    assert "set --merge flag to merge existing secret" in refused.stdout, refused.stdout
    assert kube_data(kube_control_plane, namespace, "shared") == {"k": "theirs"}
    merged = banzai.run(*args, "--merge", stdin=request)
    assert merged.returncode == 0, (merged.stdout, merged.stderr)
    assert kube_data(kube_control_plane, namespace, "shared") == {"k": "theirs", "DB_USER": "u"}
