"""Dynamic database credentials through the API, against real OpenBao and real PostgreSQL
and MariaDB servers: connections (checked on save, the root password kept by OpenBao only),
roles from presets, credentials that log in and may do what the role allows and nothing
more, revocation and expiry that remove the user, tenancy, and the outbound rules."""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

import psycopg
import pymysql
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from audit.models import AuditEvent
from databases.models import DatabaseConnection, DatabaseLease
from tests.conftest import Personas
from tests.helpers import assert_problem
from tests.listener import Listener
from tools.devstack.pytest_plugin import DatabaseTarget

pytestmark = pytest.mark.django_db

REFUSED = (psycopg.OperationalError, pymysql.err.OperationalError)
DENIED = (psycopg.errors.InsufficientPrivilege, pymysql.err.OperationalError)
FIXTURES = {"postgresql": "target_postgres", "mysql": "target_mariadb"}


def url(org_id: int, path: str) -> str:
    return f"/api/v1/orgs/{org_id}/{path}"


def connect_body(target: DatabaseTarget, name: str = "main", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "engine": target.engine,
        "host": target.host,
        "port": target.port,
        "database": target.database,
        "username": target.username,
        "password": target.password,
        "tlsMode": "disable",
        **extra,
    }


@pytest.fixture(params=["postgresql", "mysql"])
def target(request: pytest.FixtureRequest, settings: Any, vault: Any) -> DatabaseTarget:
    found: DatabaseTarget = request.getfixturevalue(FIXTURES[request.param])
    settings.DATABASE_ALLOW_ENDPOINTS = [f"{found.host}:{found.port}"]
    return found


@pytest.fixture
def table(target: DatabaseTarget) -> str:
    """A table of this test in the target's database, with one row."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    with target.connect() as admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {name} (id integer)")
        cursor.execute(f"INSERT INTO {name} VALUES (1)")
    return name


def create_role(client: APIClient, org: int, connection: int, **body: Any) -> dict[str, Any]:
    body = {"name": "reader", "preset": "read-only", "defaultTtl": 600, "maxTtl": 3600, **body}
    got = client.post(url(org, f"database-connections/{connection}/roles"), body, format="json")
    assert got.status_code == 201, got.content
    return dict(got.json())


def setup_role(clients: dict[str, APIClient], org: int, target: DatabaseTarget, **role: Any) -> Any:
    got = clients["admin"].post(
        url(org, "database-connections"), connect_body(target), format="json"
    )
    assert got.status_code == 201, got.content
    return got.json(), create_role(clients["admin"], org, got.json()["id"], **role)


def issue(client: APIClient, org: int, role_id: int) -> dict[str, Any]:
    got = client.post(url(org, f"database-roles/{role_id}/credentials"))
    assert got.status_code == 201, got.content
    return dict(got.json())


def can_select(target: DatabaseTarget, creds: dict[str, Any], table: str) -> list[Any]:
    with target.connect(creds["username"], creds["password"]) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT id FROM {table}")
        return list(cur.fetchall())


def insert(target: DatabaseTarget, creds: dict[str, Any], table: str) -> None:
    with target.connect(creds["username"], creds["password"]) as conn, conn.cursor() as cur:
        cur.execute(f"INSERT INTO {table} VALUES (2)")


def dump() -> str:
    out = io.StringIO()
    call_command("dumpdata", "databases", "audit", stdout=out)
    return out.getvalue()


def test_issued_credentials_read_and_nothing_more_until_revoked(
    personas: Personas, clients: dict[str, APIClient], target: DatabaseTarget, table: str
) -> None:
    org = personas.org.pk
    connection, role = setup_role(clients, org, target)
    assert "password" not in connection and connection["tlsMode"] == "disable"
    creds = issue(clients["member"], org, role["id"])
    assert creds["password"] and creds["username"] and creds["leaseId"]
    assert can_select(target, creds, table) == [(1,)]
    with pytest.raises(DENIED):
        insert(target, creds, table)
    leases = clients["member"].get(url(org, f"database-roles/{role['id']}/leases")).json()
    assert [lease["username"] for lease in leases] == [creds["username"]]
    assert all("password" not in lease for lease in leases)
    revoked = clients["member"].delete(url(org, f"database-leases/{creds['leaseId']}"))
    assert revoked.status_code == 204
    with pytest.raises(REFUSED):
        can_select(target, creds, table)
    assert clients["member"].get(url(org, f"database-roles/{role['id']}/leases")).json() == []
    actions = set(
        AuditEvent.objects.filter(organization=personas.org).values_list("action", flat=True)
    )
    assert {
        "database.connection_add",
        "database.role_add",
        "database.credentials",
        "database.revoke",
    } <= actions
    assert target.password not in dump() and creds["password"] not in dump()


def test_a_read_write_role_writes(
    personas: Personas, clients: dict[str, APIClient], target: DatabaseTarget, table: str
) -> None:
    org = personas.org.pk
    _, role = setup_role(clients, org, target, preset="read-write", name="writer")
    creds = issue(clients["member"], org, role["id"])
    insert(target, creds, table)
    assert sorted(can_select(target, creds, table)) == [(1,), (2,)]


def test_credentials_expire_with_their_ttl(
    personas: Personas, clients: dict[str, APIClient], target: DatabaseTarget, table: str
) -> None:
    org = personas.org.pk
    _, role = setup_role(clients, org, target, defaultTtl=2, maxTtl=2)
    creds = issue(clients["member"], org, role["id"])
    assert can_select(target, creds, table) == [(1,)]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            can_select(target, creds, table)
        except REFUSED:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the expired user still logs in")
    assert clients["member"].get(url(org, f"database-roles/{role['id']}/leases")).json() == []


def test_who_may_do_what(
    personas: Personas, clients: dict[str, APIClient], target: DatabaseTarget
) -> None:
    org = personas.org.pk
    refused = clients["member"].post(
        url(org, "database-connections"), connect_body(target), format="json"
    )
    assert_problem(refused, 403)
    connection, role = setup_role(clients, org, target)
    assert_problem(
        clients["viewer"].post(url(org, f"database-roles/{role['id']}/credentials")), 403
    )
    listed = clients["viewer"].get(url(org, "database-connections")).json()
    assert [item["name"] for item in listed] == ["main"]
    other = personas.other_org.pk
    for path in (f"database-connections/{connection['id']}", f"database-roles/{role['id']}"):
        assert_problem(clients["outsider"].get(url(other, path)), 404)
    # The outsider's own org does not have them either.
    assert_problem(
        clients["outsider"].post(url(other, f"database-roles/{role['id']}/credentials")), 404
    )
    creds = issue(clients["member"], org, role["id"])
    assert_problem(
        clients["outsider"].delete(url(other, f"database-leases/{creds['leaseId']}")), 404
    )
    assert DatabaseLease.objects.get(public_id=creds["leaseId"]).revoked_at is None


def test_bad_connections_are_refused_with_every_field_named(
    personas: Personas, clients: dict[str, APIClient], target: DatabaseTarget
) -> None:
    org = personas.org.pk
    bad = connect_body(target, name="no spaces", host="a/b", database="x;y", port=70000)
    problem = assert_problem(
        clients["admin"].post(url(org, "database-connections"), bad, format="json"), 400
    )
    assert {"name", "host", "database", "port"} <= set(problem["errors"])
    wrong = connect_body(target, password=target.password + "-wrong")
    problem = assert_problem(
        clients["admin"].post(url(org, "database-connections"), wrong, format="json"),
        400,
        field="host",
    )
    assert target.password not in str(problem)
    assert not DatabaseConnection.objects.exists()


def test_a_host_the_operator_did_not_allow_is_never_contacted(
    personas: Personas, clients: dict[str, APIClient], settings: Any, vault: Any
) -> None:
    settings.DATABASE_ALLOW_ENDPOINTS = []
    listener = Listener()
    try:
        body = {
            "name": "attacker", "engine": "postgresql", "host": "127.0.0.1",
            "port": listener.port, "database": "app", "username": "root",
            "password": "pw", "tlsMode": "disable",
        }  # fmt: skip
        got = clients["admin"].post(
            url(personas.org.pk, "database-connections"), body, format="json"
        )
        assert_problem(got, 400, field="host")
        assert "DATABASE_ALLOW_NETWORKS" in str(got.json())
        assert listener.connections == 0
    finally:
        listener.close()
    assert not DatabaseConnection.objects.exists()


def test_rotating_the_root_credential_locks_out_its_old_password(
    personas: Personas, clients: dict[str, APIClient], target: DatabaseTarget, table: str
) -> None:
    org = personas.org.pk
    root = target.new_admin(f"root_{uuid.uuid4().hex[:8]}")
    got = clients["admin"].post(url(org, "database-connections"), connect_body(root), format="json")
    assert got.status_code == 201, got.content
    rotated = clients["admin"].post(
        url(org, f"database-connections/{got.json()['id']}/rotate-root")
    )
    assert rotated.status_code == 200 and rotated.json()["rootRotatedAt"]
    with pytest.raises(REFUSED):
        root.connect().close()
    role = create_role(clients["admin"], org, got.json()["id"])
    assert can_select(target, issue(clients["member"], org, role["id"]), table) == [(1,)]


CUSTOM = {
    "postgresql": (
        "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
        'GRANT SELECT ON {table} TO "{{name}}";',
    ),
    "mysql": (
        "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';",
        "GRANT SELECT ON app.{table} TO '{{name}}'@'%';",
    ),
}


def test_a_custom_role_grants_what_its_statements_say(
    personas: Personas, clients: dict[str, APIClient], target: DatabaseTarget, table: str
) -> None:
    org = personas.org.pk
    statements = [line.replace("{table}", table) for line in CUSTOM[target.engine]]
    member_try = clients["member"].post(
        url(org, "database-connections/1/roles"), {"preset": "custom"}, format="json"
    )
    assert member_try.status_code in (403, 404)
    missing = {"name": "bad", "preset": "custom", "creationStatements": ["SELECT 1;"]}
    connection, _ = setup_role(clients, org, target)
    refused = clients["admin"].post(
        url(org, f"database-connections/{connection['id']}/roles"), missing, format="json"
    )
    assert_problem(refused, 400, field="creationStatements")
    role = create_role(
        clients["admin"], org, connection["id"], name="custom", preset="custom",
        creationStatements=statements,
    )  # fmt: skip
    creds = issue(clients["member"], org, role["id"])
    assert can_select(target, creds, table) == [(1,)]
    with pytest.raises(DENIED):
        insert(target, creds, table)


def test_ttls_out_of_range_are_field_errors(
    personas: Personas, clients: dict[str, APIClient], target: DatabaseTarget
) -> None:
    org = personas.org.pk
    connection, _ = setup_role(clients, org, target)
    roles_url = url(org, f"database-connections/{connection['id']}/roles")
    body = {"name": "r2", "preset": "read-only", "defaultTtl": 0, "maxTtl": 0}
    problem = assert_problem(clients["admin"].post(roles_url, body, format="json"), 400)
    assert {"defaultTtl", "maxTtl"} <= set(problem["errors"])
    longer = {"name": "r3", "preset": "read-only", "defaultTtl": 60, "maxTtl": 30}
    assert_problem(clients["admin"].post(roles_url, longer, format="json"), 400, field="defaultTtl")
