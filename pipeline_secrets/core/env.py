"""Typed readers for configuration taken from the environment.

Every reader fails loudly on a malformed value. ``env_secret`` also honours a ``NAME_FILE``
variant, so a secret can be mounted as a file instead of placed in the environment.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path


class ConfigError(RuntimeError):
    """A configuration value from the environment is malformed."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be a boolean (true/false), got {raw!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """One of ``choices`` (compared in lower case); anything else fails loudly."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return value


def env_networks(name: str, default: list[str]) -> list[str]:
    """A comma-separated list of IP networks (CIDR); an empty value means none."""
    raw = os.environ.get(name)
    items = default if raw is None else [i.strip() for i in raw.split(",") if i.strip()]
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise ConfigError(
                f"{name} must list IP networks such as 10.0.0.0/8, got {item!r}"
            ) from exc
    return items


def private_data_dir(path: Path) -> None:
    """Create ``path`` for the owner only and make new files in this process owner-only.

    SQLite creates its journal files (``-wal``, ``-shm``) at first use with the umask's
    mode, so the umask, not a chmod after the fact, is what keeps them private.
    """
    os.umask(0o077)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid != os.getuid():
        return
    path.chmod(0o700)
    # Files an earlier version left readable (the database and its journals, the key).
    for item in path.iterdir():
        if item.is_file() and not item.is_symlink() and item.stat().st_mode & 0o077:
            item.chmod(item.stat().st_mode & 0o700)


def env_secret(name: str) -> str | None:
    """The value of ``NAME``, or the stripped content of the file named by ``NAME_FILE``."""
    value = os.environ.get(name)
    if value:
        return value
    file_name = os.environ.get(f"{name}_FILE")
    if not file_name:
        return None
    try:
        return Path(file_name).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{name}_FILE points to an unreadable file: {file_name}") from exc


def persistent_secret(path: Path, *, nbytes: int = 50) -> str:
    """A random secret kept in ``path`` (mode 0600), created on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(nbytes))
    return path.read_text().strip()
