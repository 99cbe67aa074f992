"""The OpenAPI document is valid and every answer of the API fits it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from tests.schema_check import CheckedAPIClient, assert_conforms

pytestmark = pytest.mark.django_db


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "openapi.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert out.stat().st_size > 1000


def test_swagger_ui_is_served_from_local_static_files(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html and "/static/drf_spectacular_sidecar/" in html
    assert "cdn" not in html.lower()


def test_every_answer_of_a_full_session_fits_the_schema(vault, personas, clients, settings):
    admin, viewer = clients["admin"], clients["viewer"]
    org = personas.org.pk
    settings.ORG_CREATION = "anyone"  # alice is no staff account

    def check(client, method, path, body=None, status=None):
        call = getattr(client, method)
        response = call(path, body, format="json") if body is not None else call(path)
        if status is not None:
            assert response.status_code == status, response.content
        assert_conforms(response, method, path)
        return response

    check(admin, "get", "/api/v1/secret-types", status=200)
    check(admin, "get", "/api/v1/secret-types/password", status=200)
    check(admin, "get", "/api/v1/secret-types/nope", status=404)
    check(admin, "get", "/api/v1/orgs", status=200)
    check(admin, "post", "/api/v1/orgs", {"name": "org-c"}, status=201)
    check(admin, "post", "/api/v1/orgs", {"name": "org-c"}, status=409)
    settings.ORG_CREATION = "staff"
    check(admin, "post", "/api/v1/orgs", {"name": "org-d"}, status=403)
    check(admin, "get", f"/api/v1/orgs/{org}", status=200)
    members = check(admin, "get", f"/api/v1/orgs/{org}/members", status=200).json()
    vera = next(m for m in members if m["username"] == "vera")
    check(
        admin, "put", f"/api/v1/orgs/{org}/members/{vera['userId']}", {"role": "viewer"}, status=200
    )
    check(
        viewer, "put", f"/api/v1/orgs/{org}/members/{vera['userId']}", {"role": "admin"}, status=403
    )
    created = check(
        admin,
        "post",
        f"/api/v1/orgs/{org}/secrets",
        {"name": "web", "type": "htpasswd", "values": {"username": "web"}, "tags": ["a:b"]},
        status=201,
    ).json()
    check(
        admin,
        "post",
        f"/api/v1/orgs/{org}/secrets",
        {"name": "Bad Name", "type": "generic"},
        status=400,
    )
    duplicate = {"name": "web", "type": "generic", "values": {"k": "v"}}
    check(admin, "post", f"/api/v1/orgs/{org}/secrets", duplicate, status=409)
    base = f"/api/v1/orgs/{org}/secrets/{created['id']}"
    check(admin, "get", f"/api/v1/orgs/{org}/secrets?tag=a:b", status=200)
    check(admin, "get", base, status=200)
    check(viewer, "get", base, status=200)
    check(admin, "get", f"{base}/validate?validate=false", status=200)
    check(admin, "put", base, {"values": {"username": "web"}, "tags": []}, status=200)
    check(admin, "put", base, {"values": {"username": "web"}, "version": 1}, status=409)
    check(admin, "get", f"{base}/tags", status=200)
    check(admin, "put", f"{base}/tags/repo:x/y", status=200)
    check(admin, "delete", f"{base}/tags/repo:x/y", status=204)
    check(clients["outsider"], "get", base, status=404)
    check(clients["anonymous"], "get", base, status=401)
    check(admin, "get", "/api/v1/tokens", status=403)  # tokens are managed from a session
    signed_in = CheckedAPIClient()
    signed_in.force_login(personas.admin)
    token = check(signed_in, "post", "/api/v1/tokens", {"name": "ci"}, status=201).json()
    check(signed_in, "get", "/api/v1/tokens", status=200)
    check(signed_in, "delete", f"/api/v1/tokens/{token['id']}", status=204)
    check(admin, "delete", base, status=204)
