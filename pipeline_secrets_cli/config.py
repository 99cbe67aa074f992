"""Where the client keeps its sign-in: ``$XDG_CONFIG_HOME/pipeline-secrets/credentials.json``
(``~/.config`` without it), readable by its owner only. Only the server's URL, the token
and what the token is limited to are kept there: never a secret's value."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

FILE_NAME = "credentials.json"


@dataclass
class Credentials:
    url: str
    token: str
    token_id: int | None = None
    organization: int | None = None


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pipeline-secrets"


def credentials_path() -> Path:
    return config_dir() / FILE_NAME


def load() -> Credentials | None:
    path = credentials_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not data.get("url") or not data.get("token"):
        return None
    return Credentials(
        url=str(data["url"]),
        token=str(data["token"]),
        token_id=data.get("token_id"),
        organization=data.get("organization"),
    )


def save(credentials: Credentials) -> Path:
    """Written to a new 0600 file, then moved over the old one: never readable by others."""
    directory = config_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / FILE_NAME
    temporary = directory / (FILE_NAME + ".new")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(credentials), out)
    temporary.replace(path)
    return path


def forget() -> bool:
    path = credentials_path()
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed
