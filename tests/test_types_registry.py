"""The registry type: login fields validated, the .dockerconfigjson rendering, and the API."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from secrets_app.types import REGISTRY, Context
from secrets_app.types.registry import dockerconfigjson
from tests.helpers import assert_problem

TYPE = REGISTRY["registry"]
LOGIN = {"server": "ghcr.io", "username": "robot", "password": "p:a ss\nword", "email": "r@x.io"}


def test_dockerconfigjson_document():
    document = json.loads(dockerconfigjson(LOGIN))
    entry = document["auths"]["ghcr.io"]
    assert entry["username"] == "robot" and entry["password"] == LOGIN["password"]
    assert entry["email"] == "r@x.io"
    assert base64.b64decode(entry["auth"]).decode() == "robot:" + LOGIN["password"]
    without_email = json.loads(dockerconfigjson({**LOGIN, "email": ""}))
    assert "email" not in without_email["auths"]["ghcr.io"]
    assert TYPE.kubernetes_type == "kubernetes.io/dockerconfigjson"


@pytest.mark.parametrize(
    "server",
    ["ghcr.io", "registry.example.com:5000", "https://index.docker.io/v1/", "10.0.0.1:5000"],
)
def test_accepted_servers(server):
    assert TYPE.clean({**LOGIN, "server": server}, Context()).values["server"] == server


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("server", "not a host"),
        ("server", "ftp://x.io"),
        ("username", "a:b"),
        ("email", "nobody"),
    ],
)
def test_field_errors(field, value):
    with pytest.raises(ValidationError) as caught:
        TYPE.clean({**LOGIN, field: value}, Context())
    assert f"values.{field}" in caught.value.message_dict


def test_missing_required():
    with pytest.raises(ValidationError) as caught:
        TYPE.clean({"server": "ghcr.io"}, Context())
    assert {"values.username", "values.password"} <= set(caught.value.message_dict)


def url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/secrets"


@pytest.mark.django_db
def test_registry_through_the_api(vault, personas, clients):
    member, org = clients["member"], personas.org.pk
    body = {"name": "pull-secret", "type": "registry", "values": LOGIN}
    created = member.post(url(org), body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["generated"] == {}
    detail = f"{url(org)}/{created.json()['id']}"
    assert member.get(detail).json()["values"] == LOGIN
    assert [s["name"] for s in member.get(url(org) + "?type=registry").json()] == ["pull-secret"]
    described = {f["name"]: f for f in member.get("/api/v1/secret-types/registry").json()["fields"]}
    assert described["server"]["required"] and not described["email"]["required"]
    assert not described["password"]["isSafeToDisplay"]
    assert described["username"]["isSafeToDisplay"]
    assert member.delete(detail).status_code == 204
    assert member.get(url(org)).json() == []


@pytest.mark.django_db
def test_registry_api_field_errors(vault, personas, clients):
    member, org = clients["member"], personas.org.pk

    def post(values: dict[str, str]) -> Any:
        return member.post(
            url(org), {"name": "r", "type": "registry", "values": values}, format="json"
        )

    assert_problem(post({"server": "ghcr.io", "username": "u"}), 400, field="values.password")
    assert_problem(post({**LOGIN, "token": "x"}), 400, field="values.token")
    body = assert_problem(post({**LOGIN, "server": "bad server"}), 400, field="values.server")
    assert LOGIN["password"] not in str(body)
    assert member.get(url(org)).json() == []
