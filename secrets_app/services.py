"""Writes of secrets asked for by people and programs: create, update, tag changes, checks
and deletes. Every new version goes through ``secrets_app.writes.write_version`` (see its
invariants); this module says what each write makes of the secret.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from orgs.models import Organization
from pipeline_secrets.core.errors import NotFoundError
from secrets_app import hooks, schedule, vault
from secrets_app import values as values_module
from secrets_app.models import SecretIndex
from secrets_app.selectors import secret_get, vault_path
from secrets_app.types import Context, SecretType, get_type
from secrets_app.validation import (
    SYSTEM_TAG_PREFIX,
    secret_id_for,
    validate_name,
    validate_tags,
    validate_user_tag,
)
from secrets_app.writes import (
    Actor,
    Current,
    Draft,
    NewSecret,
    SecretWrite,
    actor_name,
    hold_if_asked,
    read_current,
    record,
    refuse_read_only,
    write_version,
)

__all__ = [
    "Actor",
    "SecretWrite",
    "actor_name",
    "secret_create",
    "secret_delete",
    "secret_update",
    "secret_validate",
    "tag_add",
    "tag_remove",
]


def _needs_values(stype: SecretType) -> bool:
    """Whether a create must carry values: the type has a field the caller must give, or
    nothing it can generate (a create without values would store an empty secret)."""
    fields = stype.fields
    must_give = any(f.required and not f.generatable for f in fields)
    return must_give or not any(f.generatable for f in fields)


def secret_create(
    *,
    actor: Actor,
    organization: Organization,
    name: Any,
    type: Any,
    values: Any,
    tags: Any = None,
    rotation: Any = schedule.NOT_GIVEN,
    ctx: Context | None = None,
) -> SecretWrite:
    """Store a new secret; values are generated and validated by its type first, and a
    ``rotation`` schedule (``{"every": "30d"}``) is checked before anything is written."""
    context = ctx or Context()
    stype = get_type(type)
    check_together(name=name, tags=tags, stype=stype, values=values, ctx=context)
    new = NewSecret(name=name, stype=stype)

    def compose(current: Current | None) -> Draft:
        stype = new.stype
        clean_tags = validate_tags(tags)
        change = schedule.clean_rotation(rotation, stype)
        if not values and _needs_values(stype):
            raise ValidationError({"values": f"Values are required for a {stype.name} secret."})
        prepared = stype.clean(values, context)
        return Draft.of(
            prepared,
            tags=clean_tags,
            rotation=change,
            now=context.now,
            type=stype.name,
            **change.audit(),
        )

    return write_version(
        actor=actor,
        organization=organization,
        secret_id=secret_id_for(new.name),
        allow="secret.values.write",
        audit_as="secret.create",
        compose=compose,
        new=new,
    )


def check_together(*, name: Any, tags: Any, stype: SecretType, values: Any, ctx: Context) -> None:
    """A new secret's name and tags, and (when either is wrong) its values, checked in one
    pass: one ValidationError naming every problem, nothing generated for keeps and no
    provider asked."""
    found: dict[str, list[ValidationError]] = {}
    for check in (lambda: validate_name(name), lambda: validate_tags(tags)):
        try:
            check()
        except ValidationError as exc:
            found = exc.update_error_dict(found)
    if not found:
        return
    try:
        stype.clean(values, replace(ctx, verify_remote=False))
    except ValidationError as exc:
        found = exc.update_error_dict(found)
    raise ValidationError(found)


def _keep_system_tags(current: list[str], given: list[str]) -> list[str]:
    """An update's tags: the secret's system tags stay, and no new ones may be given."""
    system = {t for t in current if t.startswith(SYSTEM_TAG_PREFIX)}
    added = sorted(t for t in given if t.startswith(SYSTEM_TAG_PREFIX) and t not in system)
    if added:
        raise ValidationError(
            {
                "tags": (
                    f"Tags starting with {SYSTEM_TAG_PREFIX!r} are set when a secret is "
                    f"created, not added later: {', '.join(added)}."
                )
            }
        )
    return sorted(system | set(given))


def secret_update(
    *,
    actor: Actor,
    organization: Organization,
    secret_id: str,
    values: Any,
    tags: Any = None,
    name: Any = None,
    type: Any = None,
    expected_version: int | None = None,
    rotation: Any = schedule.NOT_GIVEN,
    ctx: Context | None = None,
) -> SecretWrite:
    """Replace the values and tags of a secret. Its name and type never change; its
    rotation schedule changes only when ``rotation`` is given (null removes it)."""
    context = ctx or Context()

    def compose(current: Current | None) -> Draft:
        assert current is not None
        if name is not None and name != current.data["name"]:
            raise ValidationError({"name": "A secret's name cannot be changed."})
        if type is not None and type != current.data["type"]:
            raise ValidationError({"type": "A secret's type cannot be changed."})
        clean_tags = _keep_system_tags(current.tags, validate_tags(tags))
        change = schedule.clean_rotation(rotation, current.stype)
        prepared = current.stype.clean(values, context)
        return Draft.of(
            prepared, tags=clean_tags, rotation=change, now=context.now, **change.audit()
        )

    return write_version(
        actor=actor,
        organization=organization,
        secret_id=secret_id,
        allow="secret.values.write",
        audit_as="secret.update",
        compose=compose,
        expected_version=expected_version,
    )


def _retag(
    *, actor: Actor, organization: Organization, secret_id: str, add: str | None, remove: str | None
) -> SecretIndex:
    for given in (add, remove):
        if given is not None:
            validate_user_tag(given)

    def compose(current: Current | None) -> Draft | None:
        assert current is not None
        tags = set(current.tags)
        if add is not None:
            tags.add(add)
        if remove is not None:
            if remove not in tags:
                raise NotFoundError(f"The secret has no tag {remove[:128]!r}.")
            tags.discard(remove)
        if sorted(tags) == sorted(current.tags):
            return None
        return Draft(
            values=current.values,
            tags=validate_tags(sorted(tags)),
            expires_at=current.row.expires_at,
            detail={"tag": add if add is not None else remove},
        )

    return write_version(
        actor=actor,
        organization=organization,
        secret_id=secret_id,
        allow="secret.tag",
        audit_as="secret.tag.add" if add is not None else "secret.tag.remove",
        compose=compose,
    ).row


def tag_add(*, actor: Actor, organization: Organization, secret_id: str, tag: str) -> SecretIndex:
    return _retag(actor=actor, organization=organization, secret_id=secret_id, add=tag, remove=None)


def tag_remove(
    *, actor: Actor, organization: Organization, secret_id: str, tag: str
) -> SecretIndex:
    return _retag(actor=actor, organization=organization, secret_id=secret_id, add=None, remove=tag)


def secret_validate(*, actor: Actor, row: SecretIndex, ctx: Context) -> None:
    """Re-run the type's validation on the stored values; ValidationError when invalid.
    Reading the values to check them is audited like any read of values."""
    stored = values_module.read_values(standing=actor, row=row, purpose="validate", audit_read=True)
    get_type(row.type).verify(stored, ctx)


def secret_delete(*, actor: Actor, organization: Organization, secret_id: str) -> None:
    """Remove every version from Vault, then the index row. Apps that depend on the secret
    may veto first (a ``ConflictError``); what they queue after commits with the delete of
    the index row."""
    row = secret_get(organization=organization, secret_id=secret_id)
    values_module.require(actor, "secret.delete", row)
    refuse_read_only(row.tags)
    hooks.before_delete(organization=organization, secret_id=secret_id)
    hold_if_asked(
        actor,
        row=row,
        action="secret.delete",
        audit_as="secret.delete",
        base=lambda: read_current(row),
        document=None,
        detail={},
    )
    vault.delete_all(vault_path(organization.pk, secret_id))
    # What the apps above queue (the removal of installed copies) commits with the delete.
    with transaction.atomic():
        hooks.after_delete(organization=organization, secret_id=secret_id)
        record(actor, "secret.delete", row, version=row.version)
        row.delete()
