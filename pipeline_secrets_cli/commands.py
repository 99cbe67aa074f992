"""Secrets one by one: ``list``, ``get``, ``set``, ``rm``, ``tag``, ``rotate``,
``versions`` and ``rollback``. Values are masked unless ``--reveal`` is given."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import yaml

from pipeline_secrets_cli import dotenv, output, selection
from pipeline_secrets_cli.client import secret_id
from pipeline_secrets_cli.context import Settings, json_option, settings_of
from pipeline_secrets_cli.errors import NOT_FOUND, USAGE, CliError

reveal_option = click.option("--reveal", is_flag=True, help="Show values (masked otherwise).")


def secret_path(settings: Settings, name: str, rest: str = "") -> str:
    return settings.org_path(f"secrets/{secret_id(name)}/{rest}")


@click.command("list")
@selection.options
@json_option
@click.pass_context
def list_(
    ctx: click.Context, names: tuple[str, ...], tags: tuple[str, ...], type_: str | None
) -> None:
    """The organization's secrets (metadata only: no value is read)."""
    settings = settings_of(ctx)
    query: dict[str, Any] = {"tag": list(tags)} if tags else {}
    if type_:
        query["type"] = type_
    if names:
        query["ids"] = [secret_id(n) for n in names]
    items = settings.api().get(settings.org_path("secrets"), **query)
    rows = [
        (i["name"], i["type"], i["version"], ", ".join(i["tags"]), i["updatedAt"]) for i in items
    ]
    settings.emit(items, output.table(("name", "type", "version", "tags", "updated"), rows))


def render_values(values: dict[str, Any], form: str) -> str:
    if form == "dotenv":
        return dotenv.dumps({k: str(v) for k, v in values.items() if v is not None})
    if form == "yaml":
        return str(yaml.safe_dump(values, sort_keys=False, allow_unicode=True))
    return json.dumps(values, indent=2) + "\n"


@click.command()
@click.argument("name")
@click.option("--field", help="Only this value.")
@click.option(
    "--format", "form", type=click.Choice(("json", "yaml", "dotenv")), help="Values only."
)
@click.option("--version", type=int, help="An earlier version.")
@reveal_option
@json_option
@click.pass_context
def get(
    ctx: click.Context,
    name: str,
    field: str | None,
    form: str | None,
    version: int | None,
    reveal: bool,
) -> None:
    """One secret: its metadata and values (masked unless --reveal)."""
    settings = settings_of(ctx)
    query: dict[str, Any] = {"version": version} if version else {}
    item = settings.api().get(secret_path(settings, name), **query)
    values = selection.ordered_values(item)
    shown = output.masked(values, reveal)
    if field is not None:
        if field not in values:
            raise CliError(
                f"{name} has no field {field!r} (it has: {', '.join(values)})", NOT_FOUND
            )
        settings.emit({field: shown[field]}, str(shown[field]))
    elif form:
        click.echo(render_values(shown, form), nl=False)
    else:
        item["values"] = shown
        head = f"{item['name']} ({item['type']}, version {item['version']})"
        tags = f"\n  tags: {', '.join(item['tags'])}" if item["tags"] else ""
        settings.emit(item, f"{head}{tags}\n{output.values_text(shown)}")


def parse_pairs(pairs: tuple[str, ...], env_file: Path | None) -> dict[str, str]:
    values = dotenv.loads(env_file.read_text(), str(env_file)) if env_file else {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"{pair.split('=')[0]!r}: write KEY=VALUE", USAGE)
        values[key] = value
    return values


def current(settings: Settings, name: str) -> dict[str, Any] | None:
    try:
        return dict(settings.api().get(secret_path(settings, name), values="true"))
    except CliError as exc:
        if exc.code == NOT_FOUND:
            return None
        raise


@click.command("set")
@click.argument("name")
@click.argument("pairs", nargs=-1)
@click.option("--type", "type_", help="The secret's type (for a new secret; default generic).")
@click.option("--from-env-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tag", "tags", multiple=True, help="A tag to add (repeatable).")
@reveal_option
@json_option
@click.pass_context
def set_(
    ctx: click.Context,
    name: str,
    pairs: tuple[str, ...],
    type_: str | None,
    from_env_file: Path | None,
    tags: tuple[str, ...],
    reveal: bool,
) -> None:
    """Create NAME, or change the given values of it (KEY=VALUE...; others are kept)."""
    settings = settings_of(ctx)
    values = parse_pairs(pairs, from_env_file)
    old = current(settings, name)
    if old is None:
        body = {"name": name, "type": type_ or "generic", "values": values, "tags": list(tags)}
        done = settings.api().call("POST", settings.org_path("secrets"), json=body)
        verb = "Created"
    else:
        merged = {**(old.get("values") or {}), **values}
        body = {
            "values": merged,
            "tags": [*old["tags"], *(t for t in tags if t not in old["tags"])],
        }
        body.update({"version": old["version"], "type": type_ or old["type"]})
        done = settings.api().call("PUT", secret_path(settings, name), json=body)
        verb = "Updated"
    generated = output.masked(done.get("generated") or {}, reveal)
    done["generated"] = generated
    text = f"{verb} {name} (version {done.get('version')})."
    if generated:
        text += "\nGenerated:\n" + output.values_text(generated)
    settings.emit(done, text)


@click.command("rm")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask.")
@json_option
@click.pass_context
def rm(ctx: click.Context, name: str, yes: bool) -> None:
    """Delete a secret (and every version of it)."""
    settings = settings_of(ctx)
    if not yes and sys.stdin.isatty():
        click.confirm(f"Delete {name} and all its versions?", abort=True)
    settings.api().call("DELETE", secret_path(settings, name))
    settings.emit({"deleted": name}, f"Deleted {name}.")


@click.command()
@click.argument("name")
@click.option("--add", "added", multiple=True, help="A tag to add (repeatable).")
@click.option("--remove", "removed", multiple=True, help="A tag to remove (repeatable).")
@json_option
@click.pass_context
def tag(ctx: click.Context, name: str, added: tuple[str, ...], removed: tuple[str, ...]) -> None:
    """Add or remove tags; prints the secret's tags."""
    settings = settings_of(ctx)
    api = settings.api()
    tags = api.get(secret_path(settings, name, "tags"))
    for t in added:
        tags = api.call("PUT", secret_path(settings, name, f"tags/{t}"))
    for t in removed:
        api.call("DELETE", secret_path(settings, name, f"tags/{t}"))
    if removed:
        tags = api.get(secret_path(settings, name, "tags"))
    settings.emit(tags, "\n".join(tags))
