"""Ids no row can have: a 404 in a URL, a 400 naming the field in a body or query.

Every URL pattern with an integer id is found by walking the URLconf, so a new one is
covered without being listed here. Out of range (0, negative, beyond a 64-bit integer) the
pattern does not match at all; at the top of the range it matches and the object is missing.
A paging cursor is not an object: beyond every row it simply lists everything.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts import services as account_services
from notifications import services as notifications
from orgs import invitations
from orgs import services as org_services
from pipeline_secrets.core.converters import ID_MAX, IdConverter
from tests.conftest import Personas
from tests.helpers import assert_problem
from tests.schema_check import CheckedAPIClient

pytestmark = pytest.mark.django_db

TOO_BIG = "36893488147419103231"  # 2**65 - 1: SQLite cannot even bind it
SECRET_ID = hashlib.sha256(b"db-password").hexdigest()  # the secret made by ``fillers``
# Per converter: values no row can have, and one a row could have but none has.
OUT_OF_RANGE = {
    "id": (TOO_BIG, str(ID_MAX + 1), "0", "-1", "00"),
    # PostgreSQL refuses a NUL in text; the others are not what sha256().hexdigest() gives.
    "secret_id": ("ab%00cd", SECRET_ID.upper(), SECRET_ID[:-1], SECRET_ID + "0", "g" * 64),
}
MISSING = {"id": str(ID_MAX), "secret_id": "0" * 64}
METHODS = ("get", "post", "put", "delete")
PLACEHOLDER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
# One body that every write accepts (each takes its own keys), so the missing object, not
# an invalid body, decides the answer: JSON for the API, a form for the dashboard.
API_BODY = {
    "role": "viewer",
    "namespace": "build-1",
    "query": {"type": "password"},
    "values": {"username": "app"},
    "tags": [],
}
FORM_BODY = {"role": "viewer", "namespace": "build-1", "type": "password", "name": "db-password"}


def _routes(
    patterns: list[URLPattern | URLResolver], prefix: str = ""
) -> Iterator[tuple[str, Any]]:
    """Every (route, view) of the URLconf, with the routes of included URLconfs joined."""
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        else:
            yield route, entry.callback


def id_routes() -> list[tuple[str, Any]]:
    found = [
        (route, view)
        for route, view in _routes(get_resolver().url_patterns)
        if any(m["converter"] in OUT_OF_RANGE for m in PLACEHOLDER.finditer(route))
    ]
    assert found, "no URL uses the id converters"
    return found


ID_ROUTES = id_routes()


def test_no_url_takes_an_unbounded_integer() -> None:
    routes = [route for route, _ in _routes(get_resolver().url_patterns)]
    assert not [route for route in routes if "<int:" in route]


@pytest.mark.parametrize("value", ["1", "42", str(ID_MAX), "0001"])
def test_converter_matches_ids_a_row_can_have(value: str) -> None:
    assert re.fullmatch(IdConverter.regex, value)
    assert IdConverter().to_python(value) == int(value)


@pytest.mark.parametrize("value", OUT_OF_RANGE["id"])
def test_converter_rejects_ids_no_row_can_have(value: str) -> None:
    if re.fullmatch(IdConverter.regex, value):
        with pytest.raises(ValueError):
            IdConverter().to_python(value)


@pytest.fixture
def fillers(
    vault: Any, personas: Personas, clients: dict[str, APIClient], settings: Any
) -> dict[str, str]:
    settings.LDAP_TRUSTED_GROUPS = ["bounds"]  # the operator trusts the mapped group
    """Real values for every placeholder, so only the id under test is wrong (no cluster is
    registered: a cluster id only matters where it is the id under test)."""
    response = clients["admin"].post(
        f"/api/v1/orgs/{personas.org.pk}/secrets",
        {"name": "db-password", "type": "password", "values": {"username": "app"}},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["id"] == SECRET_ID
    token, _ = org_services.token_create(user=personas.admin, name="bounds")
    target, _ = notifications.target_create(
        actor=personas.admin, organization=personas.org, kind="email", name="t", emails=["t@x.io"]
    )
    delivery = notifications.target_test(
        actor=personas.admin, organization=personas.org, target_id=target.pk
    )
    invitation, _ = invitations.invitation_create(
        actor=personas.admin,
        organization=personas.org,
        email="bounds@example.org",
        role="viewer",
        base_url="http://testserver/",
    )
    mapping = account_services.group_mapping_set(
        actor=personas.admin, organization=personas.org, group="bounds", role="viewer"
    )
    return {
        "invitation_id": str(invitation.pk),
        "mapping_id": str(mapping.pk),
        "org_id": str(personas.org.pk),
        "user_id": str(personas.viewer.pk),
        "token_id": str(token.pk),
        "target_id": str(target.pk),
        "delivery_id": str(delivery.pk),
        "cluster_id": "1",
        "connection_id": "1",
        "role_id": "1",
        "lease_id": "no-such-lease",
        "breakglass_id": "1",
        "access_request_id": "1",
        "access_grant_id": "1",
        "change_id": "1",
        "secret_id": response.json()["id"],
        "tag": "team:core",
        "name": "db-password",
        "field": "password",
        "type": "password",
        "version": "1",
        "link_id": "0" * 24,  # a share link's public id (none has it)
    }


def build(route: str, fillers: dict[str, str], name: str, value: str) -> str:
    def fill(match: re.Match[str]) -> str:
        return value if match["name"] == name else fillers[match["name"]]

    return "/" + PLACEHOLDER.sub(fill, route)


def admin_client(route: str, personas: Personas, clients: dict[str, APIClient]) -> APIClient:
    """The admin's bearer token for the API; a signed-in session for the dashboard and for
    token management, which refuses tokens."""
    if route.startswith("api/v1/") and not route.startswith("api/v1/tokens"):
        return clients["admin"]
    client = CheckedAPIClient()
    client.force_login(personas.admin)
    return client


def cases() -> Iterator[Any]:
    for route, view in ID_ROUTES:
        for match in PLACEHOLDER.finditer(route):
            if match["converter"] in OUT_OF_RANGE:
                param = (route, view, match["converter"], match["name"])
                yield pytest.param(*param, id=f"{route}[{match['name']}]")


@pytest.mark.parametrize(("route", "view", "converter", "name"), list(cases()))
def test_id_out_of_range_is_404(
    route: str,
    view: Any,
    converter: str,
    name: str,
    fillers: dict[str, str],
    personas: Personas,
    clients: dict[str, APIClient],
) -> None:
    client = admin_client(route, personas, clients)
    for value in OUT_OF_RANGE[converter]:
        url = build(route, fillers, name, value)
        for method in METHODS:
            response = getattr(client, method)(url, {}, format="json")
            assert response.status_code == 404, (method, url, response.status_code)
            if route.startswith("api/"):
                assert_problem(response, 404)


@pytest.mark.parametrize(("route", "view", "converter", "name"), list(cases()))
def test_id_in_range_without_a_row_is_404(
    route: str,
    view: Any,
    converter: str,
    name: str,
    fillers: dict[str, str],
    personas: Personas,
    clients: dict[str, APIClient],
) -> None:
    client = admin_client(route, personas, clients)
    url = build(route, fillers, name, MISSING[converter])
    view_class = view.view_class
    for method in METHODS:
        if method not in view_class.http_method_names or not hasattr(view_class, method):
            continue
        if route.startswith("api/"):
            response = getattr(client, method)(url, API_BODY, format="json")
        else:
            response = getattr(client, method)(url, FORM_BODY)
        assert response.status_code == 404, (method, url, response.status_code)


def test_version_beyond_any_row_is_a_field_error(
    fillers: dict[str, str], personas: Personas, clients: dict[str, APIClient]
) -> None:
    url = f"/api/v1/orgs/{personas.org.pk}/secrets/{fillers['secret_id']}"
    admin = clients["admin"]
    for value in (TOO_BIG, str(ID_MAX + 1)):
        assert_problem(admin.get(url, {"version": value}), 400, field="version")
        body = {"values": {"username": "app"}, "version": int(value)}
        assert_problem(admin.put(url, body, format="json"), 400, field="version")
    response = admin.get(url, {"version": str(ID_MAX)})
    assert_problem(response, 404)


def test_audit_cursor_beyond_any_row_lists_everything(
    personas: Personas, clients: dict[str, APIClient]
) -> None:
    url = f"/api/v1/orgs/{personas.org.pk}/audit"
    for value in (TOO_BIG, str(ID_MAX)):
        response = clients["admin"].get(url, {"before": value})
        assert response.status_code == 200, response.content
        assert response.json()


def test_activity_cursor_beyond_any_row_lists_everything(personas: Personas) -> None:
    client = CheckedAPIClient()
    client.force_login(personas.admin)
    response = client.get(f"/orgs/{personas.org.pk}/activity/", {"before": TOO_BIG})
    assert response.status_code == 200


@pytest.mark.parametrize("name", ["type", "tags", "tag"])
def test_nul_in_a_list_filter_is_a_field_error(
    name: str, personas: Personas, clients: dict[str, APIClient]
) -> None:
    url = f"/api/v1/orgs/{personas.org.pk}/secrets?{name}=a%00b"
    assert_problem(clients["admin"].get(url), 400, field=name)
