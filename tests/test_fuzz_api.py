"""The served API fuzzed from its own OpenAPI document.

Schemathesis generates requests for every operation of ``/api/v1/openapi.json`` and sends
them to a live server (real OpenBao, real kube-apiserver, the test database) with an org
admin's bearer token. Every answer must be no server error, a status the document declares
for the operation, and a body that fits the declared schema. One pytest test per operation,
so a failure names it, and schemathesis prints the request that reproduces it.

The document is read when the tests are collected, before any server runs, through Django's
test client; ``test_live_server_serves_the_fuzzed_document`` checks the live server serves
the same one.

Generated ids mostly point at nothing; so that the real code paths run too, the path
parameters of a valid request are pointed at the seeded objects (one of them or the
generated value, chosen from the generated value so a run is reproducible; the organization
is always the fuzzed one). Negative cases (ids no row can have, strings where ids go) are
sent as generated.

Nothing is excluded: the token's own membership cannot be removed (the last admin stays,
409) and token management refuses API tokens (403), so no call can lock the run out.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    CheckFunction,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from clusters import services as cluster_services
from orgs import services as org_services
from orgs.models import Membership
from secrets_app import services as secret_services
from secrets_app.types import REGISTRY
from tests.conftest import Personas, VaultServer
from tools.devstack.pytest_plugin import ControlPlane

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.vault, pytest.mark.slow]

# At most this many generated requests per operation and phase, from a fixed seed
# (deterministic): about two minutes for the whole document on two cores.
MAX_EXAMPLES = 100
DOCUMENT = "/api/v1/openapi.json"
CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
]

SEED = [
    ("mysql-root", "password", {"username": "root"}, ["env:prod", "repo:pipeline"]),
    ("payments-api", "generic", {"API_KEY": "k-123", "REGION": "eu"}, ["env:prod"]),
    ("grafana-auth", "htpasswd", {"username": "admin"}, ["team:obs"]),
    ("ingress-tls", "tls", {"hosts": "shop.example.test"}, ["env:prod"]),
    ("deploy-key", "ssh", {"user": "git"}, ["repo:pipeline"]),
]


@dataclass
class FuzzTarget:
    """The organization under fuzz and the ids of what is in it."""

    org_id: int
    token: str
    secret_ids: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)
    token_ids: list[int] = field(default_factory=list)
    cluster_ids: list[int] = field(default_factory=list)


@pytest.fixture
def fuzz_target(
    vault: VaultServer, personas: Personas, kube_control_plane: ControlPlane
) -> FuzzTarget:
    """Org A with a few secrets of several types, its members, a real cluster with one
    secret installed, and the admin's token."""
    org, admin = personas.org, personas.admin
    token, raw = org_services.token_create(user=admin, name="fuzz")
    other_token, _ = org_services.token_create(user=admin, name="spare")
    target = FuzzTarget(org_id=org.pk, token=raw)
    for name, kind, values, tags in SEED:
        row = secret_services.secret_create(
            actor=admin, organization=org, name=name, type=kind, values=values, tags=tags
        ).row
        target.secret_ids.append(row.secret_id)
        target.names.append(name)
        target.tags.extend(tags)
    cluster = cluster_services.cluster_create(
        actor=admin, organization=org, name="dev", kubeconfig=kube_control_plane.admin_kubeconfig()
    )
    cluster_services.install(
        actor=admin,
        cluster=cluster,
        namespace="fuzz-seed",
        query=cluster_services.InstallQuery(ids=target.secret_ids[:1]),
    )
    members = Membership.objects.filter(organization=org).order_by("user_id")
    target.user_ids = [m.user_id for m in members]
    target.token_ids = [token.pk, other_token.pk]
    target.cluster_ids = [cluster.pk]
    return target


def _pick(generated: Any, known: Sequence[Any]) -> Any:
    """One of ``known`` or the generated value itself, chosen from the generated value."""
    index = zlib.crc32(repr(generated).encode()) % (len(known) + 1)
    return known[index] if index < len(known) else generated


def aim(case: Any, target: FuzzTarget) -> None:
    """Point the path parameters of a valid request at the seeded objects; an invalid one
    (a negative case: a string, a float, an id out of range) is sent as generated."""
    params = case.path_parameters
    if not params or case.meta is None or case.meta.generation.mode != GenerationMode.POSITIVE:
        return
    if "org_id" in params:
        params["org_id"] = target.org_id
    for name, known in (
        ("user_id", target.user_ids),
        ("token_id", target.token_ids),
        ("secret_id", target.secret_ids),
        ("tag", target.tags),
        ("name", target.names),
        ("cluster_id", target.cluster_ids),
        ("type", sorted(REGISTRY)),
    ):
        if name in params:
            params[name] = _pick(params[name], known)


def served_document() -> dict[str, Any]:
    """The OpenAPI document as the product serves it (it needs no database)."""
    response = Client().get(DOCUMENT)
    assert response.status_code == 200, response.content[:500]
    document: dict[str, Any] = response.json()
    return document


schema = schemathesis.openapi.from_dict(served_document())
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)


def test_live_server_serves_the_fuzzed_document(live_server: Any) -> None:
    response = requests.get(live_server.url + DOCUMENT, timeout=30)
    assert response.status_code == 200
    assert response.json() == schema.raw_schema


@schema.parametrize()
@settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_as_documented(case: Any, live_server: Any, fuzz_target: FuzzTarget) -> None:
    aim(case, fuzz_target)
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Bearer {fuzz_target.token}"},
        checks=CHECKS,
    )
