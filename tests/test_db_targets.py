"""The target database servers (PostgreSQL, MariaDB) serve OpenBao's database engine: a
connection configured with their administrator, a role, issued credentials that log in and
read, and a revoked lease whose login then fails."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import hvac
import psycopg
import pymysql
import pytest

from tools.devstack.pytest_plugin import DatabaseTarget, OpenBao

LOGIN_REFUSED = (psycopg.OperationalError, pymysql.err.OperationalError)


@dataclass(frozen=True)
class Engine:
    """How OpenBao's database engine manages one kind of target server."""

    fixture: str
    plugin_name: str
    url_template: str
    creation_statements: tuple[str, ...]
    user_count_query: str


ENGINES = {
    "postgresql": Engine(
        fixture="target_postgres",
        plugin_name="postgresql-database-plugin",
        url_template="postgresql://{{{{username}}}}:{{{{password}}}}@{host}:{port}/{db}"
        "?sslmode=disable",
        creation_statements=(
            "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
            "VALID UNTIL '{{expiration}}';",
            'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{{name}}";',
        ),
        user_count_query="SELECT count(*) FROM pg_roles WHERE rolname = %s",
    ),
    "mysql": Engine(
        fixture="target_mariadb",
        plugin_name="mysql-database-plugin",
        url_template="{{{{username}}}}:{{{{password}}}}@tcp({host}:{port})/{db}",
        creation_statements=(
            "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';",
            "GRANT SELECT ON app.* TO '{{name}}'@'%';",
        ),
        user_count_query="SELECT count(*) FROM mysql.user WHERE user = %s",
    ),
}


@pytest.fixture
def database_mount(openbao_server: OpenBao) -> Iterator[tuple[hvac.Client, str]]:
    """A database secrets engine of this test alone, on the session's OpenBao."""
    client = openbao_server.root_client()
    mount = f"database-{uuid.uuid4().hex[:8]}"
    client.sys.enable_secrets_engine("database", path=mount)
    try:
        yield client, mount
    finally:
        client.sys.disable_secrets_engine(mount)


def run(target: DatabaseTarget, query: str, *params: object, **login: str) -> tuple[object, ...]:
    """The first row of ``query`` on ``target``, as its administrator or as ``login``."""
    connection = target.connect(login.get("username"), login.get("password"))
    try:
        cursor = connection.cursor()
        cursor.execute(query, params or None)
        return tuple(cursor.fetchone() or ())
    finally:
        connection.close()


def configure(client: hvac.Client, mount: str, engine: Engine, admin: DatabaseTarget) -> None:
    """Connection ``target`` managed as ``admin`` (checked by OpenBao on write), role
    ``reader`` on it."""
    client.write(
        f"{mount}/config/target",
        plugin_name=engine.plugin_name,
        connection_url=engine.url_template.format(
            host=admin.host, port=admin.port, db=admin.database
        ),
        username=admin.username,
        password=admin.password,
        allowed_roles=["reader"],
    )
    client.write(
        f"{mount}/roles/reader",
        db_name="target",
        creation_statements=list(engine.creation_statements),
        default_ttl="1h",
        max_ttl="2h",
    )


def target_of(request: pytest.FixtureRequest, engine_name: str) -> DatabaseTarget:
    target: DatabaseTarget = request.getfixturevalue(ENGINES[engine_name].fixture)
    assert target.engine == engine_name
    return target


@pytest.mark.parametrize("engine_name", sorted(ENGINES))
def test_issued_credentials_log_in_until_the_lease_is_revoked(
    engine_name: str,
    database_mount: tuple[hvac.Client, str],
    request: pytest.FixtureRequest,
) -> None:
    engine = ENGINES[engine_name]
    target = target_of(request, engine_name)
    client, mount = database_mount
    table = f"probe_{uuid.uuid4().hex[:8]}"
    connection = target.connect()
    try:
        cursor = connection.cursor()
        cursor.execute(f"CREATE TABLE {table} (n integer)")
        cursor.execute(f"INSERT INTO {table} VALUES (42)")
    finally:
        connection.close()
    configure(client, mount, engine, target)

    issued = client.read(f"{mount}/creds/reader")
    login = issued["data"]
    assert issued["lease_duration"] == 3600

    assert run(target, f"SELECT n FROM {table}", **login) == (42,)
    assert run(target, engine.user_count_query, login["username"]) == (1,)

    client.sys.revoke_lease(issued["lease_id"])

    with pytest.raises(LOGIN_REFUSED):
        run(target, "SELECT 1", **login)
    assert run(target, engine.user_count_query, login["username"]) == (0,)


@pytest.mark.parametrize("engine_name", sorted(ENGINES))
def test_rotating_a_new_admin_leaves_the_session_admin_alone(
    engine_name: str,
    database_mount: tuple[hvac.Client, str],
    request: pytest.FixtureRequest,
) -> None:
    target = target_of(request, engine_name)
    admin = target.new_admin(f"admin_{uuid.uuid4().hex[:8]}")
    client, mount = database_mount
    configure(client, mount, ENGINES[engine_name], admin)

    client.write(f"{mount}/rotate-root/target")

    with pytest.raises(LOGIN_REFUSED):
        run(admin, "SELECT 1")
    login = client.read(f"{mount}/creds/reader")["data"]
    assert run(target, "SELECT 1", **login) == (1,)
    assert run(target, "SELECT 1") == (1,)
