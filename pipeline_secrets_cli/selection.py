"""Which secrets a command works on (by name, tag and type), their values through the API,
and the environment variables they make."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pipeline_secrets_cli.client import secret_id
from pipeline_secrets_cli.context import Settings
from pipeline_secrets_cli.errors import USAGE, CliError


@dataclass(frozen=True)
class Selection:
    names: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    type: str | None = None

    def require_some(self) -> None:
        if not (self.names or self.tags or self.type):
            raise CliError("choose secrets with --secret, --tag or --type", USAGE)

    def filtered(self) -> bool:
        return bool(self.tags or self.type)


def _query(selection: Selection, **extra: Any) -> dict[str, Any]:
    query: dict[str, Any] = dict(extra)
    if selection.tags:
        query["tag"] = list(selection.tags)
    if selection.type:
        query["type"] = selection.type
    return query


def fetch(settings: Settings, selection: Selection) -> list[dict[str, Any]]:
    """The selected secrets with their values: the named ones first, in the order given,
    then those the tags and type select."""
    selection.require_some()
    api = settings.api()
    found: dict[str, dict[str, Any]] = {}
    for name in selection.names:
        found[name] = api.get(settings.org_path(f"secrets/{secret_id(name)}"), values="true")
    if selection.filtered():
        for item in api.get(settings.org_path("secrets"), **_query(selection, values="true")):
            found.setdefault(item["name"], item)
    return list(found.values())


def versions(settings: Settings, selection: Selection) -> dict[str, int]:
    """Each selected secret's current version (metadata only: no value is read)."""
    api = settings.api()
    result: dict[str, int] = {}
    if selection.names:
        ids = [secret_id(n) for n in selection.names]
        for item in api.get(settings.org_path("secrets"), ids=ids):
            result[item["name"]] = int(item["version"])
    if selection.filtered():
        for item in api.get(settings.org_path("secrets"), **_query(selection)):
            result[item["name"]] = int(item["version"])
    return result


def upper_snake(key: str) -> str:
    """``accessKeyId`` -> ``ACCESS_KEY_ID``; ``tls.crt`` -> ``TLS_CRT``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key)
    return re.sub(r"[^A-Za-z0-9]+", "_", spaced).strip("_").upper()


def parse_maps(pairs: tuple[str, ...]) -> dict[str, str]:
    maps: dict[str, str] = {}
    for pair in pairs:
        key, sep, env = pair.partition("=")
        if not sep or not key or not env:
            raise CliError(f"--map {pair!r}: write KEY=ENV or SECRET.KEY=ENV", USAGE)
        maps[key] = env
    return maps


def environment(
    secrets: list[dict[str, Any]], maps: dict[str, str], *, upper: bool
) -> dict[str, str]:
    """The variables: a key as given (upper-snake-cased with ``upper``) unless mapped; two
    sources of one variable are an error naming both."""
    env: dict[str, str] = {}
    source: dict[str, str] = {}
    for secret in secrets:
        for key, value in (secret.get("values") or {}).items():
            if value is None:
                continue
            where = f"{secret['name']}.{key}"
            name = maps.get(where) or maps.get(key) or (upper_snake(key) if upper else key)
            if name in env:
                raise CliError(
                    f"{name} comes from both {source[name]} and {where}; "
                    "rename one with --map KEY=ENV",
                    USAGE,
                )
            env[name] = str(value)
            source[name] = where
    return env
