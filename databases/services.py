"""Writes of database connections and roles (admins). Each change is checked in full before
the engine is told, made in the database and the engine together (a refusal of the engine
undoes the row), and audited without a password.

The root password is passed to the engine and dropped: it is in no column, log or audit
row, and after ``rotate_root`` nobody knows it but OpenBao.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit import services as audit_log
from databases import engine, targets
from databases.models import DatabaseConnection
from orgs import policy
from orgs.models import Organization
from pipeline_secrets.core.errors import ConflictError
from secrets_app.vault import database as vault_db


@dataclass
class ConnectionInput:
    name: Any
    engine: Any
    host: Any
    port: Any = None
    database: Any = None
    username: Any = None
    password: Any = None
    tls_mode: Any = DatabaseConnection.TlsMode.REQUIRE


def refused(exc: vault_db.EngineRefusedError, field: str = "host") -> ValidationError:
    return ValidationError({field: f"The database engine refused: {exc}"})


def audit(
    actor: policy.Actor, action: str, organization: Organization, obj: Any, **detail: Any
) -> None:
    audit_log.record(
        actor=policy.actor_name(actor),
        action=action,
        organization=organization,
        target_type="database_connection"
        if isinstance(obj, DatabaseConnection)
        else "database_role",
        target_id=obj.pk,
        target_name=str(obj),
        **detail,
    )


def _text(value: Any, field: str, max_length: int = 63) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({field: "This field is required."})
    if len(value) > max_length:
        raise ValidationError({field: f"At most {max_length} characters."})
    return value.strip()


def clean_connection(given: ConnectionInput, errors: dict[str, list[str]]) -> DatabaseConnection:
    """An unsaved connection from ``given``; every field's problem is put in ``errors``."""
    row = DatabaseConnection()

    def take(field: str, clean: Any) -> None:
        try:
            setattr(row, field, clean())
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)

    take("name", lambda: engine.check_identifier(_text(given.name, "name"), "name"))
    take("engine", lambda: choice(given.engine, DatabaseConnection.Engine, "engine"))
    take("host", lambda: engine.check_host(_text(given.host, "host", 253)))
    take("port", lambda: _port(given.port, row))
    take("database", lambda: engine.check_identifier(_text(given.database, "database"), "database"))
    take("username", lambda: _username(given.username))
    take("tls_mode", lambda: choice(given.tls_mode, DatabaseConnection.TlsMode, "tlsMode"))
    return row


def choice(value: Any, choices: Any, field: str) -> str:
    if value not in choices.values:
        raise ValidationError({field: f"Choose one of: {', '.join(choices.values)}."})
    return str(value)


def _port(value: Any, row: DatabaseConnection) -> int:
    if value is None:
        return engine.DEFAULT_PORTS.get(getattr(row, "engine", ""), 5432)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValidationError({"port": "A port is a number from 1 to 65535."})
    return value


def _username(value: Any) -> str:
    text = _text(value, "username")
    if not engine.USERNAME.match(text):
        raise ValidationError({"username": "Use letters, digits, '.', '_' and '-'."})
    return text


def _password(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError({"password": "The root password is required."})
    if len(value) > 1024:
        raise ValidationError({"password": "At most 1024 characters."})
    return value


def configure(row: DatabaseConnection, password: str | None) -> None:
    """Tell the engine about ``row`` (it connects to check); ValidationError when refused."""
    targets.check(row.host, row.port)
    try:
        vault_db.configure(
            row.vault_name,
            engine.plugin(row),
            engine.connection_url(row),
            row.username,
            password,
            roles=[f"o{row.organization_id}-r*"],
        )
    except vault_db.EngineRefusedError as exc:
        raise refused(exc) from None


def connection_create(
    *, actor: policy.Actor, organization: Organization, given: ConnectionInput
) -> DatabaseConnection:
    policy.require(policy.standing_of(actor, organization), "database.manage")
    errors: dict[str, list[str]] = {}
    row = clean_connection(given, errors)
    password = None
    try:
        password = _password(given.password)
    except ValidationError as exc:
        errors.setdefault("password", []).extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    row.organization = organization
    row.created_by = policy.actor_name(actor)
    try:
        with transaction.atomic():
            row.save()
            configure(row, password)
            audit(actor, "database.connection_add", organization, row, type=row.engine)
    except IntegrityError:
        raise ValidationError({"name": "A connection of this name exists."}) from None
    return row


def connection_update(
    *, actor: policy.Actor, connection: DatabaseConnection, changes: dict[str, Any]
) -> DatabaseConnection:
    """Change where the connection points (and, with ``password``, its root credential)."""
    policy.require(policy.standing_of(actor, connection.organization), "database.manage")
    current = {
        "name": connection.name,
        "engine": connection.engine,
        "host": connection.host,
        "port": connection.port,
        "database": connection.database,
        "username": connection.username,
        "tls_mode": connection.tls_mode,
    }
    if "engine" in changes and changes["engine"] != connection.engine:
        raise ValidationError({"engine": "A connection's engine cannot be changed."})
    merged = ConnectionInput(**{**current, **changes})
    errors: dict[str, list[str]] = {}
    row = clean_connection(merged, errors)
    if errors:
        raise ValidationError(errors)
    password = None if merged.password is None else _password(merged.password)
    for field in current:
        setattr(connection, field, getattr(row, field))
    connection.updated_at = timezone.now()
    try:
        with transaction.atomic():
            connection.save()
            configure(connection, password)
            audit(actor, "database.connection_change", connection.organization, connection)
    except IntegrityError:
        raise ValidationError({"name": "A connection of this name exists."}) from None
    return connection


def rotate_root(*, actor: policy.Actor, connection: DatabaseConnection) -> DatabaseConnection:
    """Replace the root password by one only the engine knows."""
    policy.require(policy.standing_of(actor, connection.organization), "database.manage")
    targets.check(connection.host, connection.port)
    try:
        vault_db.rotate_root(connection.vault_name)
    except vault_db.EngineRefusedError as exc:
        raise refused(exc) from None
    connection.root_rotated_at = timezone.now()
    connection.save(update_fields=["root_rotated_at"])
    audit(actor, "database.rotate_root", connection.organization, connection)
    return connection


def connection_delete(*, actor: policy.Actor, connection: DatabaseConnection) -> None:
    policy.require(policy.standing_of(actor, connection.organization), "database.manage")
    if connection.roles.exists():
        raise ConflictError(f"Connection {connection.name} still has roles: delete them first.")
    with transaction.atomic():
        audit(actor, "database.connection_remove", connection.organization, connection)
        vault_db.remove_connection(connection.vault_name)
        connection.delete()
