"""The store: the one package that talks to Vault/OpenBao (KV version 2).

Configuration comes from settings (``VAULT_ADDR``, ``VAULT_TOKEN`` or ``VAULT_TOKEN_FILE``
or a log-in, ``VAULT_MOUNT``, ``VAULT_TIMEOUT``, ``VAULT_RETRY_SECONDS``). Its parts:

- ``transport``: hvac's API over one pooled ``requests`` session, the node calls go to,
  and ``sys/health``;
- ``auth``: the app's token (static and renewed, or from an AppRole/Kubernetes log-in);
- ``calls``: retries, re-login on a refused token, and the two exceptions callers see
  (``VaultUnavailableError``, ``CasMismatchError``);
- ``kv``: the KV v2 verbs (read, check-and-set write, versions, destroy, delete, list).

The names below are what the rest of the app uses; an import contract keeps everything but
the values service and the write services away from this package.
"""

from secrets_app.vault.calls import CasMismatchError, keep_token_alive
from secrets_app.vault.kv import (
    READERS,
    VaultDocument,
    VersionInfo,
    Written,
    delete_all,
    destroy,
    list_keys,
    parse_time,
    read,
    versions,
    write,
)
from secrets_app.vault.transport import health

__all__ = [
    "READERS",
    "CasMismatchError",
    "VaultDocument",
    "VersionInfo",
    "Written",
    "delete_all",
    "destroy",
    "health",
    "keep_token_alive",
    "list_keys",
    "parse_time",
    "read",
    "versions",
    "write",
]
