"""What the engine is told for a connection and a role: the plugin, the connection URL
(TLS mode included), and the creation and revocation statements of the presets.

Every identifier that goes into a URL or a statement is checked here first, so nothing a
tenant types can change a URL's meaning or a statement's grammar; the user's name and
password are templates the engine fills (``{{name}}``, ``{{password}}``).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from django.core.exceptions import ValidationError

from databases.models import DatabaseConnection, DatabaseRole

PLUGINS = {
    DatabaseConnection.Engine.POSTGRESQL: "postgresql-database-plugin",
    DatabaseConnection.Engine.MYSQL: "mysql-database-plugin",
}
DEFAULT_PORTS: dict[str, int] = {"postgresql": 5432, "mysql": 3306}

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]{0,62}$")
SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$")
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,63}$")

PG_TLS = {"disable": "disable", "require": "require", "verify-full": "verify-full"}
MYSQL_TLS = {"disable": "false", "require": "skip-verify", "verify-full": "true"}


def check_identifier(value: str, field: str, pattern: re.Pattern[str] = IDENTIFIER) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ValidationError(
            {field: "Use letters, digits and underscores (1 to 63 characters, not a digit first)."}
        )
    return value


def check_host(value: str) -> str:
    if not isinstance(value, str) or not HOST.match(value):
        raise ValidationError({"host": "Give a host name or an IP address, nothing else."})
    return value.strip("[]")


def connection_url(connection: DatabaseConnection) -> str:
    """The engine's connection URL; the root credential is templated in by the engine."""
    host = f"[{connection.host}]" if ":" in connection.host else connection.host
    if connection.engine == DatabaseConnection.Engine.POSTGRESQL:
        tls = PG_TLS[connection.tls_mode]
        return (
            f"postgresql://{{{{username}}}}:{{{{password}}}}@{host}:{connection.port}/"
            f"{connection.database}?sslmode={tls}"
        )
    tls = MYSQL_TLS[connection.tls_mode]
    return (
        f"{{{{username}}}}:{{{{password}}}}@tcp({host}:{connection.port})/"
        f"{connection.database}?tls={tls}"
    )


def plugin(connection: DatabaseConnection) -> str:
    return PLUGINS[DatabaseConnection.Engine(connection.engine)]


# --------------------------------------------------------------------------- presets

PG_CREATE = (
    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
)
PG_PRESETS = {
    "read-only": [
        'GRANT USAGE ON SCHEMA "{schema}" TO "{{{{name}}}}";',
        'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{{{{name}}}}";',
    ],
    "read-write": [
        'GRANT USAGE ON SCHEMA "{schema}" TO "{{{{name}}}}";',
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" '
        'TO "{{{{name}}}}";',
        'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{{{{name}}}}";',
    ],
    "owner": [
        'GRANT USAGE, CREATE ON SCHEMA "{schema}" TO "{{{{name}}}}";',
        'GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA "{schema}" TO "{{{{name}}}}";',
        'GRANT ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{{{{name}}}}";',
    ],
}
PG_REVOKE = [
    'REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA "{schema}" FROM "{{{{name}}}}";',
    'REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA "{schema}" FROM "{{{{name}}}}";',
    'REVOKE ALL ON SCHEMA "{schema}" FROM "{{{{name}}}}";',
    'DROP OWNED BY "{{{{name}}}}";',
    'DROP ROLE IF EXISTS "{{{{name}}}}";',
]
MYSQL_CREATE = "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';"
MYSQL_PRESETS = {
    "read-only": ["GRANT SELECT ON `{database}`.* TO '{{{{name}}}}'@'%';"],
    "read-write": ["GRANT SELECT, INSERT, UPDATE, DELETE ON `{database}`.* TO '{{{{name}}}}'@'%';"],
    "owner": ["GRANT ALL PRIVILEGES ON `{database}`.* TO '{{{{name}}}}'@'%';"],
}
MYSQL_REVOKE = ["DROP USER IF EXISTS '{{name}}'@'%';"]


def statements(role: DatabaseRole) -> dict[str, list[str]]:
    """The creation and revocation statements of ``role`` (its preset's, or its own)."""
    if role.preset == DatabaseRole.Preset.CUSTOM:
        return {"creation": role.creation_statements, "revocation": role.revocation_statements}
    connection = role.connection
    if connection.engine == DatabaseConnection.Engine.POSTGRESQL:
        schema = role.schema or "public"
        grants = [line.format(schema=schema) for line in PG_PRESETS[role.preset]]
        revoke = [line.format(schema=schema) for line in PG_REVOKE]
        return {"creation": [PG_CREATE, *grants], "revocation": revoke}
    grants = [line.format(database=connection.database) for line in MYSQL_PRESETS[role.preset]]
    return {"creation": [MYSQL_CREATE, *grants], "revocation": list(MYSQL_REVOKE)}


def uri(connection: DatabaseConnection, username: str, password: str) -> str:
    """The URI an application connects with (the install's ``uri`` key)."""
    host = f"[{connection.host}]" if ":" in connection.host else connection.host
    scheme = "postgresql" if connection.engine == DatabaseConnection.Engine.POSTGRESQL else "mysql"
    user = f"{quote(username, safe='')}:{quote(password, safe='')}"
    query = ""
    if connection.engine == DatabaseConnection.Engine.POSTGRESQL:
        query = f"?sslmode={PG_TLS[connection.tls_mode]}"
    return f"{scheme}://{user}@{host}:{connection.port}/{connection.database}{query}"
