"""Writes of database roles (admins): what an issued user may do and how long it lives.

A preset's statements come from ``databases.engine``; custom statements are an admin's own
SQL (they are run by the engine with the connection's root credential, which is why only
admins write roles). A role is written to the engine in the same step as its row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from databases import credentials, engine
from databases.models import DatabaseConnection, DatabaseRole
from databases.services import audit, choice, refused
from orgs import policy
from pipeline_secrets.core.errors import ConflictError
from secrets_app.vault import database as vault_db

MAX_TTL = 30 * 24 * 3600
MAX_STATEMENTS = 20


@dataclass
class RoleInput:
    name: Any = None
    preset: Any = None
    schema: Any = None
    default_ttl: Any = 3600
    max_ttl: Any = 24 * 3600
    creation_statements: Any = None
    revocation_statements: Any = None


def _ttl(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TTL:
        raise ValidationError({field: f"Seconds from 1 to {MAX_TTL}."})
    return value


def _statements(value: Any, field: str, *, creation: bool) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
        raise ValidationError({field: "A list of SQL statements."})
    if not 1 <= len(value) <= MAX_STATEMENTS:
        raise ValidationError({field: f"From 1 to {MAX_STATEMENTS} statements."})
    if creation and not any("{{name}}" in s for s in value):
        raise ValidationError({field: "The statements must create the user {{name}}."})
    return [s.strip() for s in value]


def _schema(value: Any, connection: DatabaseConnection) -> str:
    if connection.engine == DatabaseConnection.Engine.MYSQL:
        if value:
            raise ValidationError(
                {"schema": "MySQL roles grant on the connection's database; give no schema."}
            )
        return ""
    if value in (None, ""):
        return "public"
    return engine.check_identifier(value, "schema", engine.SCHEMA)


def clean_role(given: RoleInput, connection: DatabaseConnection) -> DatabaseRole:
    """An unsaved role of ``connection``; a ValidationError names every field wrong."""
    role = DatabaseRole(connection=connection, organization_id=connection.organization_id)
    errors: dict[str, list[str]] = {}
    preset = given.preset
    custom = preset == DatabaseRole.Preset.CUSTOM
    steps = {
        "name": lambda: engine.check_identifier(given.name, "name"),
        "preset": lambda: choice(preset, DatabaseRole.Preset, "preset"),
        "schema": lambda: "" if custom else _schema(given.schema, connection),
        "default_ttl": lambda: _ttl(given.default_ttl, "defaultTtl"),
        "max_ttl": lambda: _ttl(given.max_ttl, "maxTtl"),
        "creation_statements": lambda: (
            _statements(given.creation_statements, "creationStatements", creation=True)
            if custom
            else []
        ),
        # None: the engine's own revocation (it drops the user).
        "revocation_statements": lambda: (
            _statements(given.revocation_statements, "revocationStatements", creation=False)
            if custom and given.revocation_statements
            else []
        ),
    }
    for field, step in steps.items():
        try:
            setattr(role, field, step())
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
    if not custom and (given.creation_statements or given.revocation_statements):
        errors.setdefault("preset", []).append("Statements are given with the custom preset only.")
    if "defaultTtl" not in errors and "maxTtl" not in errors and role.default_ttl > role.max_ttl:
        errors.setdefault("defaultTtl", []).append("Must not exceed maxTtl.")
    if errors:
        raise ValidationError(errors)
    return role


def write(role: DatabaseRole) -> None:
    try:
        vault_db.write_role(
            role.vault_name,
            role.connection.vault_name,
            engine.statements(role),
            role.default_ttl,
            role.max_ttl,
        )
    except vault_db.EngineRefusedError as exc:
        raise refused(exc, "preset") from None


def role_create(
    *, actor: policy.Actor, connection: DatabaseConnection, given: RoleInput
) -> DatabaseRole:
    policy.require(policy.standing_of(actor, connection.organization), "database.manage")
    role = clean_role(given, connection)
    role.created_by = policy.actor_name(actor)
    try:
        with transaction.atomic():
            role.save()
            write(role)
            audit(actor, "database.role_add", connection.organization, role, ttl=role.max_ttl)
    except IntegrityError:
        raise ValidationError({"name": "This connection has a role of this name."}) from None
    return role


def role_update(
    *, actor: policy.Actor, role: DatabaseRole, changes: dict[str, Any]
) -> DatabaseRole:
    """Change a role's TTLs, preset, schema or statements; credentials issued before keep
    theirs until they are renewed (within the new maximum) or replaced."""
    policy.require(policy.standing_of(actor, role.organization), "database.manage")
    current = RoleInput(
        name=role.name,
        preset=role.preset,
        schema=role.schema or None,
        default_ttl=role.default_ttl,
        max_ttl=role.max_ttl,
        creation_statements=role.creation_statements or None,
        revocation_statements=role.revocation_statements or None,
    )
    for key, value in changes.items():
        setattr(current, key, value)
    cleaned = clean_role(current, role.connection)
    for field in ("name", "preset", "schema", "default_ttl", "max_ttl"):
        setattr(role, field, getattr(cleaned, field))
    role.creation_statements = cleaned.creation_statements
    role.revocation_statements = cleaned.revocation_statements
    try:
        with transaction.atomic():
            role.save()
            write(role)
            audit(actor, "database.role_change", role.organization, role, ttl=role.max_ttl)
    except IntegrityError:
        raise ValidationError({"name": "This connection has a role of this name."}) from None
    return role


def role_delete(*, actor: policy.Actor, role: DatabaseRole) -> None:
    """Remove a role: refused while it is installed; the credentials it issued are revoked."""
    policy.require(policy.standing_of(actor, role.organization), "database.manage")
    if role.installs.exclude(status="removed").exists():
        raise ConflictError(f"Role {role.name} is installed: uninstall it first.")
    for lease in role.leases.live():
        credentials.revoke_now(lease, actor=actor)
    with transaction.atomic():
        audit(actor, "database.role_remove", role.organization, role)
        vault_db.remove_role(role.vault_name)
        role.delete()
