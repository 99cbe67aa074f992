"""The KV version 2 verbs of the store: documents at ``orgs/<orgId>/<secretId>`` under
``VAULT_MOUNT``, read, written with check-and-set, listed, destroyed and deleted."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import hvac
import hvac.exceptions
from django.conf import settings

from pipeline_secrets.core.metrics import observe_vault_call
from secrets_app.vault.calls import (
    Backoff,
    CasMismatchError,
    Refused,
    Transient,
    call,
    client,
    unavailable,
    vault_errors,
)

logger = logging.getLogger(__name__)

# Reads of many documents at once (a listing with values, an install batch) run this many
# at a time: enough to overlap round trips, few enough not to crowd Vault.
READERS = 8


@dataclass(frozen=True)
class VaultDocument:
    data: dict[str, Any]
    version: int
    created_time: str


@dataclass(frozen=True)
class VersionInfo:
    version: int
    created_time: str
    deleted: bool


@dataclass(frozen=True)
class Written:
    """A version Vault accepted, and Vault's time for it (the one clock of ``updatedAt``)."""

    version: int
    created_at: datetime


def parse_time(value: str) -> datetime:
    """Vault's RFC 3339 timestamps carry nanoseconds; Python keeps microseconds."""
    head, dot, rest = value.rstrip("Z").partition(".")
    fraction = rest[:6] if dot else "0"
    return datetime.fromisoformat(f"{head}.{fraction.ljust(6, '0')}+00:00")


def _document(response: Any) -> VaultDocument | None:
    """The document of a KV v2 read's answer (None: none, or deleted)."""
    if response is None:
        return None
    payload = response["data"]
    if payload.get("data") is None:
        return None
    metadata = payload["metadata"]
    return VaultDocument(
        data=payload["data"],
        version=int(metadata["version"]),
        created_time=str(metadata["created_time"]),
    )


def _or_none(action: str, path: str, verb: Callable[[Any], Any]) -> Any:
    """``verb(kv)`` with the KV v2 API of the app's client, under the rules of ``call``;
    None when Vault has nothing at ``path``."""

    def work(vault_client: hvac.Client) -> Any:
        try:
            return verb(vault_client.secrets.kv.v2)
        except hvac.exceptions.InvalidPath:
            return None

    return call(action, path, work)


def read(path: str, version: int | None = None) -> VaultDocument | None:
    """``version`` of ``path`` (default the current one), or None when it does not exist,
    was deleted or has been pruned."""
    return _document(
        _or_none(
            "read",
            path,
            lambda kv: kv.read_secret_version(
                path=path,
                version=version,
                mount_point=settings.VAULT_MOUNT,
                raise_on_deleted_version=False,
            ),
        )
    )


def _metadata(path: str) -> dict[str, Any] | None:
    response = _or_none(
        "read metadata of",
        path,
        lambda kv: kv.read_secret_metadata(path=path, mount_point=settings.VAULT_MOUNT),
    )
    return None if response is None else dict(response["data"])


def versions(path: str) -> list[VersionInfo]:
    """The versions Vault keeps of ``path``, newest first (empty when it does not exist)."""
    metadata = _metadata(path)
    if metadata is None:
        return []
    found = [
        VersionInfo(
            version=int(number),
            created_time=str(meta["created_time"]),
            deleted=bool(meta.get("deletion_time")) or bool(meta.get("destroyed")),
        )
        for number, meta in metadata["versions"].items()
    ]
    return sorted(found, key=lambda v: v.version, reverse=True)


def write(path: str, data: dict[str, Any], *, cas: int) -> Written:
    """Write ``data`` if the current version is ``cas`` (0: must not exist).

    A write that failed in transit (the active node died, an election is under way) may
    still have been committed. Before trying again, the current version is read: version
    ``cas + 1`` holding exactly ``data`` is this write, landed; version ``cas`` means it did
    not land and is tried again; anything else is a lost race (``CasMismatchError``). So a
    write is never applied twice, and never reported failed when it landed, as long as
    Vault answers within ``VAULT_RETRY_SECONDS``."""
    backoff = Backoff()
    while True:
        started = time.monotonic()
        try:
            with vault_errors("write", path, final=False):
                response = client().secrets.kv.v2.create_or_update_secret(
                    path=path, secret=data, cas=cas, mount_point=settings.VAULT_MOUNT
                )
        except Transient as exc:
            observe_vault_call("write", "transient", time.monotonic() - started)
            if backoff.spent():
                raise unavailable("write", path, exc.cause) from None
            logger.warning(
                "vault write %s: %s; checking whether it landed", path, type(exc.cause).__name__
            )
            backoff.sleep()
            landed = _landed(path, data, cas)
            if landed is not None:
                logger.info("vault write %s had landed as version %s", path, landed.version)
                return landed
            continue
        except Refused as exc:
            observe_vault_call("write", "error", time.monotonic() - started)
            backoff.log_in_again("write", path, exc)
            continue  # a write Vault refused did not land
        observe_vault_call("write", "ok", time.monotonic() - started)
        meta = response["data"]
        return Written(
            version=int(meta["version"]), created_at=parse_time(str(meta["created_time"]))
        )


def _landed(path: str, data: dict[str, Any], cas: int) -> Written | None:
    """After a write of ``data`` with ``cas`` failed in transit: the version it created if
    it landed, None if it did not (the current version is still ``cas``); raise
    ``CasMismatchError`` when another write took its place."""
    metadata = _metadata(path)
    current = 0 if metadata is None else int(metadata.get("current_version") or 0)
    if current == cas:
        return None
    if current > cas:
        document = read(path, version=cas + 1)
        if document is not None and document.data == data:
            return Written(version=cas + 1, created_at=parse_time(document.created_time))
    raise CasMismatchError(path)


def destroy(path: str, version: int) -> None:
    """Destroy ``version`` of ``path`` for good (KV v2 destroy: its data is removed, its
    number stays in the metadata, marked destroyed)."""
    kv = client().secrets.kv.v2
    with vault_errors("destroy", path):
        kv.destroy_secret_versions(path=path, versions=[version], mount_point=settings.VAULT_MOUNT)


def delete_all(path: str) -> None:
    """Remove every version and the metadata of ``path``."""
    call(
        "delete",
        path,
        lambda vault_client: vault_client.secrets.kv.v2.delete_metadata_and_all_versions(
            path=path, mount_point=settings.VAULT_MOUNT
        ),
    )


def list_keys(path: str) -> list[str]:
    """Keys directly under ``path``; empty when there are none."""
    response = _or_none(
        "list",
        path,
        lambda kv: kv.list_secrets(path=path, mount_point=settings.VAULT_MOUNT),
    )
    return [] if response is None else list(response["data"]["keys"])
