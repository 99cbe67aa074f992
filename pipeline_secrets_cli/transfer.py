"""``export`` the selected secrets' values as dotenv, JSON, YAML or a Kubernetes Secret, and
``import`` a ``.env`` file as a generic secret."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import click
import yaml

from pipeline_secrets_cli import dotenv, selection
from pipeline_secrets_cli.context import json_option, settings_of

FORMATS = ("dotenv", "json", "yaml", "k8s-secret")


def render(values: dict[str, str], form: str, name: str) -> str:
    if form == "dotenv":
        return dotenv.dumps(values)
    if form == "json":
        return json.dumps(values, indent=2) + "\n"
    if form == "yaml":
        return str(yaml.safe_dump(values, sort_keys=False, allow_unicode=True))
    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()},
    }
    return str(yaml.safe_dump(manifest, sort_keys=False))


@click.command()
@selection.options
@click.option("--format", "form", type=click.Choice(FORMATS), default="dotenv", show_default=True)
@click.option("--name", help="The Kubernetes Secret's name (default: the first secret's).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="A file.")
@click.pass_context
def export(
    ctx: click.Context,
    names: tuple[str, ...],
    tags: tuple[str, ...],
    type_: str | None,
    form: str,
    name: str | None,
    output: Path | None,
) -> None:
    """Print the selected secrets' values (keys as stored; a key in two secrets is an error).

    This prints values: it is the explicit way to take them out, as --reveal is for get.
    """
    settings = settings_of(ctx)
    secrets = selection.fetch(settings, selection.Selection(names, tags, type_))
    values = selection.environment(secrets, {}, upper=False)
    text = render(values, form, name or (secrets[0]["name"] if secrets else "secrets"))
    if output is None:
        click.echo(text, nl=False)
        return
    output.touch(mode=0o600)
    output.write_text(text)
    click.echo(f"Wrote {len(values)} values to {output}.", err=True)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="The new generic secret's name.")
@click.option("--tag", "tags", multiple=True, help="A tag for it (repeatable).")
@json_option
@click.pass_context
def import_(ctx: click.Context, file: Path, name: str, tags: tuple[str, ...]) -> None:
    """Create a generic secret from a .env FILE (keys and values in the file's order)."""
    settings = settings_of(ctx)
    values = dotenv.loads(file.read_text(), source=str(file))
    all_tags = [*tags, *selection.order_tags(list(values))]
    body = {"name": name, "type": "generic", "values": values, "tags": all_tags}
    created = settings.api().call("POST", settings.org_path("secrets"), json=body)
    settings.emit(
        {"name": created.get("name", name), "id": created.get("id"), "keys": list(values)},
        f"Created {name} with {len(values)} keys (version {created.get('version', 1)}).",
    )
