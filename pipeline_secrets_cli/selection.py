"""Which secrets a command works on (by name, tag and type), their values through the API,
and the environment variables they make."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

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


F = TypeVar("F", bound=Callable[..., Any])


def options(command: F) -> F:
    """``--secret``, ``--tag`` and ``--type``: the options that select secrets."""
    command = click.option("--type", "type_", help="Secrets of this type.")(command)
    command = click.option(
        "--tag", "tags", multiple=True, help="Secrets carrying this tag (repeatable)."
    )(command)
    return click.option("--secret", "names", multiple=True, help="A secret by name (repeatable).")(
        command
    )


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


# The server keeps a secret's values as a map, in no particular order; ``import`` records
# a file's key order in tags such as ``env-order.1:ZED/A_KEY`` (keys joined by "/", which
# a key never holds), so that ``export`` writes the keys back in the file's order.
ORDER_TAG = "env-order."
ORDER_TAG_LENGTH = 128


def order_tags(keys: list[str]) -> list[str]:
    """Tags recording ``keys``' order (none when it is the server's own, sorted)."""
    if keys == sorted(keys):
        return []
    tags: list[str] = []
    current: list[str] = []
    for key in keys:
        prefix = f"{ORDER_TAG}{len(tags) + 1}:"
        if current and len(prefix + "/".join([*current, key])) > ORDER_TAG_LENGTH:
            tags.append(prefix + "/".join(current))
            current = []
        current.append(key)
    if current:
        tags.append(f"{ORDER_TAG}{len(tags) + 1}:" + "/".join(current))
    return tags


def ordered_values(secret: dict[str, Any]) -> dict[str, Any]:
    """The secret's values in the order its tags record (keys they omit follow)."""
    values = dict(secret.get("values") or {})
    marks = sorted(
        (t for t in secret.get("tags") or [] if t.startswith(ORDER_TAG)),
        key=lambda t: int(t[len(ORDER_TAG) :].partition(":")[0] or 0),
    )
    order = [k for t in marks for k in t.partition(":")[2].split("/") if k in values]
    return {**{k: values[k] for k in order}, **values}


def environment(
    secrets: list[dict[str, Any]], maps: dict[str, str], *, upper: bool
) -> dict[str, str]:
    """The variables: a key as given (upper-snake-cased with ``upper``) unless mapped; two
    sources of one variable are an error naming both."""
    env: dict[str, str] = {}
    source: dict[str, str] = {}
    for secret in secrets:
        for key, value in ordered_values(secret).items():
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
