"""Secret values: the one way they leave Vault, whoever asks.

Every read of a secret's values (the API and the pages, an install or a re-sync into a
cluster, an export, a ``.env`` download, an edit form, a rotation, a rollback, a check) goes
through ``reveal`` or ``reveal_many``, which ask the policy
(``orgs.policy.require(standing, "secret.values.read", row)``) before Vault is asked. Writes of
values ask ``require_write`` the same way. An import contract (``pyproject.toml``) keeps the
views, the selectors and the cluster code away from the Vault store module.

Invariants:
- the policy is asked before Vault is: a refused caller causes no Vault read and no audit row;
- a read shown to a person (``audit_read=True``) is audited before any value is returned,
  naming the version Vault answered; a read that fails or finds nothing leaves no audit row;
- showing the fields a type marks as no secret (``Field.in_clear``: names, hosts,
  certificates) is not a read of secret values (``shown_in_clear``): opening a secret's
  page or its edit form records no ``secret.read``, a reveal records one naming its fields;
  copies (installs, re-syncs) are audited by the operation that makes them;
- the product itself (``policy.System``: re-syncs, connecting to a cluster, the periodic
  jobs) passes the policy; it never shows values to a person.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from audit import services as audit
from orgs import policy
from orgs.models import Membership, Role
from pipeline_secrets.core.errors import NotFoundError
from secrets_app import vault
from secrets_app.models import SecretIndex
from secrets_app.selectors import SECRET_NOT_FOUND, vault_path
from secrets_app.types import REGISTRY, SecretType

# The actions a type's ``values_role`` raises: reading, writing and removing its values.
VALUE_ACTIONS = frozenset(
    {"secret.values.read", "secret.values.write", "secret.delete", "secret.rotate"}
)

# What the layers above may use of the store without importing it (see the import contract).
Document = vault.VaultDocument
READERS = vault.READERS
parse_time = vault.parse_time
keep_token_alive = vault.keep_token_alive


def values_role(obj: Any) -> str:
    """The role the values of ``obj`` (an index row, a type, or a type's name) need."""
    if isinstance(obj, SecretType):
        return obj.values_role
    type_name = obj.type if isinstance(obj, SecretIndex) else obj
    stype = REGISTRY.get(type_name) if isinstance(type_name, str) else None
    return stype.values_role if stype is not None else Role.MEMBER


def type_rule(action: str, obj: Any) -> str | None:
    """The object rule registered for ``secret.``: a type's ``values_role`` (``kubernetes``
    and ``pkecert`` hold credentials: admin) for the actions on its values."""
    if action not in VALUE_ACTIONS:
        return None
    return values_role(obj)


def may_read(standing: policy.Standing, obj: Any) -> bool:
    """Whether ``standing`` may read the values of ``obj`` (for showing or masking them)."""
    return policy.allows(standing, "secret.values.read", obj)


def require(actor: policy.Actor, action: str, row: SecretIndex) -> policy.Standing:
    """The standing of ``actor`` once the policy allows ``action`` on ``row``."""
    # A membership or a name needs no query (reads run in threads that never touch the
    # database); a user stands by their stored membership of the row's org.
    standing: policy.Standing
    if isinstance(actor, Membership | policy.System | policy.Agent):
        standing = actor
    elif isinstance(actor, str):
        standing = policy.System(actor)
    else:
        standing = policy.standing_of(actor, row.organization)
    if (
        isinstance(standing, Membership | policy.Agent)
        and standing.organization_id != row.organization_id
    ):
        raise NotFoundError(SECRET_NOT_FOUND)
    policy.require(standing, action, row)
    return standing


def require_write(actor: policy.Actor, row_or_type: Any, organization: Any) -> None:
    """PermissionDenied unless ``actor`` may write values of this secret (or type, for a
    create)."""
    policy.require(policy.standing_of(actor, organization), "secret.values.write", row_or_type)


def reveal(
    *,
    standing: policy.Actor,
    row: SecretIndex,
    purpose: str,
    version: int | None = None,
    fields: list[str] | None = None,
    audit_read: bool = True,
) -> Document:
    """The Vault document of a secret (its current version, or ``version``) for ``purpose``
    (``show``, ``edit``, ``download``, ``validate``, ``install``, ``resync`` ...), once the
    policy allows ``standing`` to read its values. NotFound when Vault has no such version.

    With ``audit_read`` (a read shown to a person) one ``secret.read`` event names the
    version, the fields and the purpose; it is in the database before a value is returned
    (if it cannot be written, no value is)."""
    who = require(standing, "secret.values.read", row)
    document = vault.read(vault_path(row.organization_id, row.secret_id), version=version)
    if document is None:
        raise NotFoundError(
            SECRET_NOT_FOUND if version is None else f"The secret has no version {version}."
        )
    if audit_read and not isinstance(who, policy.System):
        detail: dict[str, Any] = {"version": document.version, "fields": sorted(fields or [])}
        if purpose not in ("show", ""):
            detail["purpose"] = purpose
        _audit_read(who, row, detail)
    return document


def values_of(document: Document) -> dict[str, Any]:
    return dict(document.data.get("values") or {})


def read_values(
    *,
    standing: policy.Actor,
    row: SecretIndex,
    purpose: str,
    audit_read: bool = False,
    fields: list[str] | None = None,
) -> dict[str, Any]:
    """``reveal``'s values only (unaudited by default: for copies an operation audits)."""
    document = reveal(
        standing=standing, row=row, purpose=purpose, audit_read=audit_read, fields=fields
    )
    return values_of(document)


def value_keys(*, row: SecretIndex) -> list[str]:
    """The names of a secret's stored fields, for any role that sees the secret: the
    values are read here and dropped, none leaves this function. NotFound if gone."""
    document = vault.read(vault_path(row.organization_id, row.secret_id))
    if document is None:
        raise NotFoundError(SECRET_NOT_FOUND)
    return sorted(values_of(document))


@dataclass(frozen=True)
class InClear:
    """What a page shows of a secret without a reveal: the names of its stored fields, and
    the values of those its type marks as no secret (for roles that read values)."""

    keys: list[str]
    shown: dict[str, str]


def shown_in_clear(*, standing: policy.Standing, row: SecretIndex) -> InClear:
    """The stored keys and, when ``standing`` may read values, the values of the fields
    the type shows in clear. Nothing secret leaves this function, so no ``secret.read`` is
    recorded. NotFound if gone."""
    document = vault.read(vault_path(row.organization_id, row.secret_id))
    if document is None:
        raise NotFoundError(SECRET_NOT_FOUND)
    stored = values_of(document)
    stype = REGISTRY.get(row.type)
    clear = {f.name for f in stype.fields if f.in_clear} if stype else set()
    if not clear or not may_read(standing, row):
        return InClear(keys=sorted(stored), shown={})
    shown = {k: str(v) for k, v in stored.items() if k in clear}
    return InClear(keys=sorted(stored), shown=shown)


def _audit_read(who: policy.Standing, row: SecretIndex, detail: dict[str, Any]) -> Any:
    name = policy.actor_name(who)
    return audit.record(
        actor=name,
        action="secret.read",
        organization=row.organization,
        target_type="secret",
        target_id=row.secret_id,
        target_name=row.name,
        **detail,
    )


def reveal_many(*, standing: policy.Actor, rows: list[SecretIndex]) -> list[dict[str, Any]]:
    """The values of many secrets (a list with ``values=true``), each allowed by the policy
    first: Vault reads run concurrently, and one statement audits them all. A secret gone
    from Vault is a 404."""
    who: policy.Standing | None = None
    for row in rows:
        who = require(standing, "secret.values.read", row)

    def read(row: SecretIndex) -> vault.VaultDocument | None:
        return vault.read(vault_path(row.organization_id, row.secret_id))

    with ThreadPoolExecutor(max_workers=vault.READERS) as pool:
        documents = list(pool.map(read, rows))
    if any(document is None for document in documents):
        raise NotFoundError(SECRET_NOT_FOUND)
    if who is not None and not isinstance(who, policy.System):
        audit.record_many(
            [
                audit.event(
                    actor=policy.actor_name(who),
                    action="secret.read",
                    organization=row.organization,
                    target_type="secret",
                    target_id=row.secret_id,
                    target_name=row.name,
                    version=document.version,
                    fields=[],
                )
                for row, document in zip(rows, documents, strict=True)
                if document is not None
            ]
        )
    return [values_of(d) for d in documents if d is not None]


def versions(*, row: SecretIndex) -> list[vault.VersionInfo]:
    """The versions Vault keeps of a secret, newest first (metadata only, no values)."""
    return vault.versions(vault_path(row.organization_id, row.secret_id))
