"""Our answers fit the original product's OpenAPI document, for every operation we share.

Each operation of the original that we serve is exercised (successes and errors), and every
answer is checked against the original's schema for its status (``tests.compat_openapi``):
objects are closed, so a member, status or type the original does not have fails, unless it
is one of ``DELIBERATE_DIFFERENCES`` below (the README's compatibility section lists the
same). A newly served operation of the original without an exercise here fails too.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from orgs import services as org_services
from tests.compat_openapi import (
    METHODS,
    BodyAdded,
    Difference,
    ExtraMembers,
    OriginalDocument,
    OtherStatus,
    OtherType,
    Refused,
    operation_ids,
    shape,
)
from tests.conftest import Personas, VaultServer
from tests.schema_check import served_document
from tools.devstack.pytest_plugin import ControlPlane

pytestmark = [pytest.mark.django_db, pytest.mark.original_reference("openapi")]

DELIBERATE_DIFFERENCES: list[Difference] = [
    ExtraMembers(
        "Error",
        ("errors", "requestId"),
        "problem details extensions: the invalid fields with their messages, and the "
        "request's id (logged with it, also in X-Request-ID)",
    ),
    ExtraMembers(
        "SecretItem",
        ("version", "expiresAt", "rotation"),
        "the Vault version (the original returns it on create), the earliest expiry of "
        "the certificates a secret holds and its rotation schedule",
    ),
    ExtraMembers(
        "CreateSecretResponse",
        ("values", "expiresAt", "generated", "installations", "rotation"),
        "a write answers the whole secret: masked values, certificate expiry, the values it "
        "generated (shown this once), its rotation schedule and, after an update, the "
        "refreshed installed copies",
    ),
    ExtraMembers(
        "SecretTypeResponse",
        ("name", "description", "sourcing", "schema", "kubernetesType", "valuesRole", "rotatable"),
        "the type's name and description, how installed copies are sourced (env or "
        "volume), whether it accepts any keys, the Kubernetes Secret type its copies get, "
        "the role needed to read its values, and whether the product can rotate it",
    ),
    ExtraMembers(
        "SecretTypeResponse.fields[]",
        ("opaque", "generatable"),
        "whether a field stays out of Kubernetes Secrets, and whether it is generated when "
        "left empty",
    ),
    ExtraMembers("OrganizationListItemResponse", ("role",), "the caller's role in it"),
    ExtraMembers(
        "SecretItem",
        (
            "namespace",
            "kubeName",
            "sourcing",
            "status",
            "installedVersion",
            "installedBy",
            "installedAt",
            "installExpiresAt",
            "merged",
            "mappedKeys",
            "lastError",
            "workloads",
            "restartedAt",
            "restartedFor",
            "restartError",
        ),
        "the cluster's secret list adds each installation: where, under which name and how "
        "it is installed, its state, the version installed, by whom, when and until when, "
        "whether it was merged into a Secret, its key mapping, its last error, and the "
        "workloads restarted when its data changes with how the last restart went",
        operation="ListClusterSecrets",
    ),
    ExtraMembers(
        "InstallSecretResponse",
        ("namespace", "sourcing", "status", "error"),
        "installing many secrets reports, per secret, where it went, how, and whether it failed",
        operation="InstallSecrets",
    ),
    ExtraMembers(
        "GetClusterStatusResponse",
        (
            "mode",
            "secretId",
            "reachable",
            "serverVersion",
            "checkedAt",
            "lastError",
            "createdBy",
            "scope",
            "agent",
        ),
        "a cluster here is a registered kubeconfig or an agent that calls in (we do not "
        "provision clusters): its mode, the secret that holds its kubeconfig, the last "
        "reachability check, and for an agent cluster what it may receive and its agent",
    ),
    ExtraMembers(
        "CreateClusterResponse_201",
        (
            "id",
            "name",
            "secretId",
            "reachable",
            "serverVersion",
            "checkedAt",
            "lastError",
            "createdAt",
            "createdBy",
            "mode",
            "scope",
            "agent",
            "agentToken",
        ),
        "registering a cluster answers the registered cluster, and an agent cluster's token "
        "once (the original's create answers a provisioning status)",
    ),
    ExtraMembers(
        "TokenListResponseItem",
        ("prefix", "expiresAt", "revokedAt", "lastUsedAt", "organization", "maxRole"),
        "tokens are scoped to an organization and a role, expire, can be revoked, and show "
        "their start and last use",
    ),
    ExtraMembers(
        "TokenCreateResponse",
        ("prefix", "createdAt", "expiresAt", "revokedAt", "lastUsedAt", "organization", "maxRole"),
        "the created token is answered whole, as the list shows it",
    ),
    OtherType("TokenListResponseItem", "id", "integer", "token ids are database ids"),
    OtherType("TokenCreateResponse", "id", "integer", "token ids are database ids"),
    OtherStatus("CreateToken", "200", "201", "a create answers 201 Created, as secrets do"),
    *(
        Refused(
            operation,
            403,
            "an API token cannot list, create or revoke tokens (a leaked token must not mint "
            "more); a signed-in session can",
        )
        for operation in ("ListTokens", "CreateToken", "DeleteToken")
    ),
    BodyAdded(
        "ValidateSecret",
        "200",
        "the validation answers whether the secret is valid and whether the provider was "
        "asked; an invalid secret is a 400 problem document",
    ),
]

ZERO_ID = "0" * 64
_names = itertools.count()


@dataclass
class World:
    """An org with a secret in it, the admin's and an anonymous API client."""

    personas: Personas
    admin: APIClient
    anonymous: APIClient
    document: OriginalDocument
    secret: dict[str, Any]

    @property
    def org(self) -> str:
        return f"/api/v1/orgs/{self.personas.org.pk}"

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        expect: int | tuple[int, ...],
        client: APIClient | None = None,
    ) -> Any:
        """Calls the API, checks the answer against the original, and that its status is
        the one this exercise is about."""
        client = client or self.admin
        if body is None:
            response = getattr(client, method)(path)
        else:
            response = getattr(client, method)(path, body, format="json")
        wanted = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in wanted, (method, path, response.content[:500])
        self.document.check(response, method, path)
        return response


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def world(vault: VaultServer, personas: Personas) -> World:
    _, raw = org_services.token_create(user=personas.admin, name="original-openapi")
    admin = bearer(raw)
    created = admin.post(
        f"/api/v1/orgs/{personas.org.pk}/secrets",
        {
            "name": "db",
            "type": "password",
            "values": {"username": "u", "password": "p"},
            "tags": ["app"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    return World(
        personas, admin, APIClient(), OriginalDocument(DELIBERATE_DIFFERENCES), created.json()
    )


Exercise = Callable[[World], None]
EXERCISES: dict[str, Exercise] = {}
CLUSTER_EXERCISES: dict[str, Callable[[World, int, ControlPlane], None]] = {}


def exercise(operation_id: str) -> Callable[[Exercise], Exercise]:
    def register(function: Exercise) -> Exercise:
        EXERCISES[operation_id] = function
        return function

    return register


# --------------------------------------------------------------------------- secrets


@exercise("GetSecrets")
def _list_secrets(w: World) -> None:
    for query in ("", "?values=true", "?type=password", "?tags=app", f"?ids={w.secret['id']}"):
        w.call("get", f"{w.org}/secrets{query}", expect=200)
    w.call("get", f"{w.org}/secrets?type=bogus", expect=400)
    w.call("get", f"{w.org}/secrets", expect=401, client=w.anonymous)
    w.call("get", f"/api/v1/orgs/{w.personas.other_org.pk}/secrets", expect=404)


@exercise("AddSecrets")
def _add_secret(w: World) -> None:
    body = {"name": "conf", "type": "generic", "values": {"a": "1"}, "tags": ["x"]}
    w.call("post", f"{w.org}/secrets", body, expect=201)
    w.call("post", f"{w.org}/secrets", body, expect=409)
    w.call("post", f"{w.org}/secrets", {"name": "bad", "type": "generic"}, expect=400)
    w.call("post", f"{w.org}/secrets", {**body, "type": "bogus"}, expect=400)


@exercise("GetSecret")
def _get_secret(w: World) -> None:
    w.call("get", f"{w.org}/secrets/{w.secret['id']}", expect=200)
    w.call("get", f"{w.org}/secrets/{ZERO_ID}", expect=404)


@exercise("UpdateSecrets")
def _update_secret(w: World) -> None:
    body = {"name": "db", "type": "password", "values": {"username": "v", "password": "q"}}
    w.call("put", f"{w.org}/secrets/{w.secret['id']}", body, expect=200)
    w.call("put", f"{w.org}/secrets/{w.secret['id']}", {"name": "db"}, expect=400)


@exercise("DeleteSecrets")
def _delete_secret(w: World) -> None:
    w.call("delete", f"{w.org}/secrets/{w.secret['id']}", expect=204)
    w.call("delete", f"{w.org}/secrets/{w.secret['id']}", expect=404)


@exercise("ValidateSecret")
def _validate_secret(w: World) -> None:
    w.call("get", f"{w.org}/secrets/{w.secret['id']}/validate", expect=200)
    w.call("get", f"{w.org}/secrets/{ZERO_ID}/validate", expect=404)


@exercise("GetSecretTags")
def _get_tags(w: World) -> None:
    w.call("get", f"{w.org}/secrets/{w.secret['id']}/tags", expect=200)
    w.call("get", f"{w.org}/secrets/{ZERO_ID}/tags", expect=404)


@exercise("AddSecretTag")
def _add_tag(w: World) -> None:
    w.call("put", f"{w.org}/secrets/{w.secret['id']}/tags/team:a", expect=200)
    w.call("put", f"{w.org}/secrets/{w.secret['id']}/tags/banzai:readonly", expect=(400, 403))


@exercise("DeleteSecretTag")
def _delete_tag(w: World) -> None:
    w.call("delete", f"{w.org}/secrets/{w.secret['id']}/tags/app", expect=204)
    w.call("delete", f"{w.org}/secrets/{ZERO_ID}/tags/app", expect=404)


@exercise("ListSecretTypes")
def _list_types(w: World) -> None:
    w.call("get", "/api/v1/secret-types", expect=200)
    w.call("get", "/api/v1/secret-types", expect=401, client=w.anonymous)


@exercise("GetSecretType")
def _get_type(w: World) -> None:
    for name in ("password", "tls", "generic"):
        w.call("get", f"/api/v1/secret-types/{name}", expect=200)
    w.call("get", "/api/v1/secret-types/bogus", expect=404)


# --------------------------------------------------------------------------- orgs, tokens


@exercise("ListOrgs")
def _list_orgs(w: World) -> None:
    w.call("get", "/api/v1/orgs", expect=200)
    w.call("get", "/api/v1/orgs", expect=401, client=w.anonymous)


@exercise("GetOrg")
def _get_org(w: World) -> None:
    w.call("get", w.org, expect=200)
    w.call("get", f"/api/v1/orgs/{w.personas.other_org.pk}", expect=404)


def refused(operation: str) -> int:
    return next(
        d.status
        for d in DELIBERATE_DIFFERENCES
        if isinstance(d, Refused) and d.operation == operation
    )


def signed_in(w: World) -> APIClient:
    client = APIClient()
    client.force_login(w.personas.admin)
    return client


@exercise("ListTokens")
def _list_tokens(w: World) -> None:
    w.call("get", "/api/v1/tokens", expect=200, client=signed_in(w))
    w.call("get", "/api/v1/tokens", expect=401, client=w.anonymous)
    w.call("get", "/api/v1/tokens", expect=refused("ListTokens"))


@exercise("CreateToken")
def _create_token(w: World) -> None:
    session = signed_in(w)
    w.call("post", "/api/v1/tokens", {"name": "ci"}, expect=201, client=session)
    w.call("post", "/api/v1/tokens", {"name": ""}, expect=400, client=session)
    w.call("post", "/api/v1/tokens", {"name": "more"}, expect=refused("CreateToken"))


@exercise("DeleteToken")
def _delete_token(w: World) -> None:
    token, _ = org_services.token_create(user=w.personas.admin, name="old")
    w.call("delete", f"/api/v1/tokens/{token.pk}", expect=refused("DeleteToken"))
    session = signed_in(w)
    w.call("delete", f"/api/v1/tokens/{token.pk}", expect=204, client=session)
    w.call("delete", "/api/v1/tokens/999999", expect=404, client=session)


# --------------------------------------------------------------------------- clusters


def cluster_exercise(
    operation_id: str,
) -> Callable[[Callable[[World, int, ControlPlane], None]], Any]:
    def register(function: Callable[[World, int, ControlPlane], None]) -> Any:
        CLUSTER_EXERCISES[operation_id] = function
        return function

    return register


def new_namespace() -> str:
    return f"oas-{int(time.time() * 1000) % 10**8}-{next(_names)}"


@cluster_exercise("ListClusters")
def _list_clusters(w: World, cluster: int, cp: ControlPlane) -> None:
    w.call("get", f"{w.org}/clusters", expect=200)
    w.call("get", f"{w.org}/clusters", expect=401, client=w.anonymous)


@cluster_exercise("CreateCluster")
def _create_cluster(w: World, cluster: int, cp: ControlPlane) -> None:
    body = {"name": "prod", "kubeconfig": cp.admin_kubeconfig()}
    w.call("post", f"{w.org}/clusters", body, expect=201)
    w.call("post", f"{w.org}/clusters", body, expect=409)
    w.call("post", f"{w.org}/clusters", {"name": "x", "kubeconfig": "{"}, expect=400)


@cluster_exercise("GetCluster")
def _get_cluster(w: World, cluster: int, cp: ControlPlane) -> None:
    w.call("get", f"{w.org}/clusters/{cluster}", expect=200)
    w.call("get", f"{w.org}/clusters/999999", expect=404)


@cluster_exercise("GetClusterStatus")
def _head_cluster(w: World, cluster: int, cp: ControlPlane) -> None:
    w.call("head", f"{w.org}/clusters/{cluster}", expect=200)


@cluster_exercise("DeleteCluster")
def _delete_cluster(w: World, cluster: int, cp: ControlPlane) -> None:
    w.call("delete", f"{w.org}/clusters/{cluster}", expect=204)
    w.call("delete", f"{w.org}/clusters/{cluster}", expect=404)


@cluster_exercise("InstallSecrets")
def _install_many(w: World, cluster: int, cp: ControlPlane) -> None:
    body = {"namespace": new_namespace(), "query": {"ids": [w.secret["id"]]}}
    w.call("post", f"{w.org}/clusters/{cluster}/secrets", body, expect=200)
    w.call("post", f"{w.org}/clusters/{cluster}/secrets", {"query": {}}, expect=400)


@cluster_exercise("ListClusterSecrets")
def _list_cluster_secrets(w: World, cluster: int, cp: ControlPlane) -> None:
    body = {"namespace": new_namespace(), "query": {"ids": [w.secret["id"]]}}
    w.call("post", f"{w.org}/clusters/{cluster}/secrets", body, expect=200)
    w.call("get", f"{w.org}/clusters/{cluster}/secrets", expect=200)
    w.call("get", f"{w.org}/clusters/999999/secrets", expect=404)


@cluster_exercise("InstallSecret")
def _install_one(w: World, cluster: int, cp: ControlPlane) -> None:
    namespace = new_namespace()
    spec = {"USER": {"source": "username"}, "MODE": {"value": "ro"}}
    body = {"namespace": namespace, "sourceSecretName": "db", "spec": spec}
    w.call("post", f"{w.org}/clusters/{cluster}/secrets/app-db", body, expect=200)
    w.call("post", f"{w.org}/clusters/{cluster}/secrets/other", {"spec": spec}, expect=400)
    missing = {"namespace": namespace, "sourceSecretName": "nope"}
    w.call("post", f"{w.org}/clusters/{cluster}/secrets/x", missing, expect=404)


@cluster_exercise("MergeSecret")
def _merge(w: World, cluster: int, cp: ControlPlane) -> None:
    namespace = new_namespace()
    cp.ensure_namespace(namespace)
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shared"}}
    cp.request("POST", f"/api/v1/namespaces/{namespace}/secrets", {**secret, "data": {}})
    body = {"namespace": namespace, "sourceSecretName": "db"}
    w.call("post", f"{w.org}/clusters/{cluster}/secrets/shared", body, expect=409)
    w.call("patch", f"{w.org}/clusters/{cluster}/secrets/shared", body, expect=200)


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("operation", sorted(EXERCISES))
def test_answers_fit_the_original_document(operation: str, world: World) -> None:
    EXERCISES[operation](world)
    assert operation in {op for op, _ in world.document.checked}


@pytest.mark.parametrize("operation", sorted(CLUSTER_EXERCISES))
def test_cluster_answers_fit_the_original_document(
    operation: str, world: World, kube_control_plane: ControlPlane
) -> None:
    registered = world.admin.post(
        f"{world.org}/clusters",
        {"name": "dev", "kubeconfig": kube_control_plane.admin_kubeconfig()},
        format="json",
    )
    assert registered.status_code == 201, registered.content
    CLUSTER_EXERCISES[operation](world, registered.json()["id"], kube_control_plane)
    assert operation in {op for op, _ in world.document.checked}


def test_every_operation_we_share_with_the_original_is_exercised() -> None:
    """The original's operations whose path and method we serve (HEAD wherever GET is
    served) are exactly the exercised ones."""
    served = {
        (shape(template), method)
        for template, item in served_document()["paths"].items()
        for method in METHODS
        if method in item or (method == "head" and "get" in item)
    }
    shared = {
        operation_id
        for (template, method), operation_id in operation_ids().items()
        if (shape(template), method) in served
    }
    assert shared == set(EXERCISES) | set(CLUSTER_EXERCISES)


def test_the_write_up_calls_work_unchanged(world: World, kube_control_plane: ControlPlane) -> None:
    """The original's secret-management write-up: generate a TLS secret for localhost, read
    its value keys and certificates, install the repository's TLS secrets by query."""
    created = world.call(
        "post",
        f"{world.org}/secrets",
        {"type": "tls", "name": "localhost-tls", "values": {"hosts": "localhost"}},
        expect=201,
    ).json()
    assert {created["name"], created["type"]} == {"localhost-tls", "tls"}
    values = world.call("get", f"{world.org}/secrets/{created['id']}", expect=200).json()["values"]
    assert {"caCert", "clientCert"} <= set(values)
    for key in ("caCert", "clientCert"):
        assert values[key].startswith("-----BEGIN CERTIFICATE-----")
    world.call("put", f"{world.org}/secrets/{created['id']}/tags/repo:pipeline", expect=200)
    registered = world.call(
        "post",
        f"{world.org}/clusters",
        {"name": "dev", "kubeconfig": kube_control_plane.admin_kubeconfig()},
        expect=201,
    ).json()
    namespace = new_namespace()
    installed = world.call(
        "post",
        f"{world.org}/clusters/{registered['id']}/secrets",
        {"namespace": namespace, "query": {"type": "tls", "tag": "repo:pipeline"}},
        expect=200,
    ).json()
    assert [item["name"] for item in installed] == ["localhost-tls"]
    kube_control_plane.request("GET", f"/api/v1/namespaces/{namespace}/secrets/localhost-tls")
