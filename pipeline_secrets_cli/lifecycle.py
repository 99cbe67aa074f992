"""A secret's life: ``rotate``, ``versions``, ``rollback``; and ``install`` into a cluster."""

from __future__ import annotations

import sys
from typing import Any

import click

from pipeline_secrets_cli import output, selection
from pipeline_secrets_cli.client import secret_id
from pipeline_secrets_cli.commands import reveal_option, secret_path
from pipeline_secrets_cli.context import json_option, settings_of
from pipeline_secrets_cli.errors import FAILED, NOT_FOUND, CliError


@click.command()
@click.argument("name")
@reveal_option
@json_option
@click.pass_context
def rotate(ctx: click.Context, name: str, reveal: bool) -> None:
    """Fresh values now (rotatable types), pushed to the installed copies."""
    settings = settings_of(ctx)
    done = settings.api().call("POST", secret_path(settings, name, "rotate"))
    done["generated"] = output.masked(done.get("generated") or {}, reveal)
    text = f"Rotated {name}: version {done.get('version')}."
    settings.emit(done, text + "\n" + output.values_text(done["generated"]))


@click.command()
@click.argument("name")
@json_option
@click.pass_context
def versions(ctx: click.Context, name: str) -> None:
    """The versions of a secret, newest first."""
    settings = settings_of(ctx)
    items = settings.api().get(secret_path(settings, name, "versions"))
    rows = [
        (
            v["version"],
            v["createdAt"],
            "deleted" if v["deleted"] else "",
            "*" if v["current"] else "",
        )
        for v in items
    ]
    settings.emit(items, output.table(("version", "created", "state", "current"), rows))


@click.command()
@click.argument("name")
@click.option("--to", "version", type=int, required=True, help="The version to write again.")
@json_option
@click.pass_context
def rollback(ctx: click.Context, name: str, version: int) -> None:
    """Write an earlier version's values again, as a new version."""
    settings = settings_of(ctx)
    done = settings.api().call(
        "POST", secret_path(settings, name, "rollback"), json={"version": version}
    )
    settings.emit(done, f"Rolled {name} back to version {version}: now version {done['version']}.")


def cluster_id(settings: Any, name: str) -> int:
    for cluster in settings.api().get(settings.org_path("clusters")):
        if name in (cluster["name"], str(cluster["id"])):
            return int(cluster["id"])
    raise CliError(f"cluster {name!r} not found in this organization", NOT_FOUND)


@click.command()
@click.argument("cluster")
@click.option("--namespace", required=True, help="Created when missing.")
@selection.options
@click.option("--overwrite", is_flag=True, help="Replace Secrets this product does not manage.")
@json_option
@click.pass_context
def install(
    ctx: click.Context,
    cluster: str,
    namespace: str,
    names: tuple[str, ...],
    tags: tuple[str, ...],
    type_: str | None,
    overwrite: bool,
) -> None:
    """Install the selected secrets into CLUSTER's NAMESPACE as Kubernetes Secrets."""
    settings = settings_of(ctx)
    selection.Selection(names, tags, type_).require_some()
    query: dict[str, Any] = {"ids": [secret_id(n) for n in names], "tags": list(tags)}
    if type_:
        query["type"] = type_
    body = {"namespace": namespace, "query": query, "overwrite": overwrite}
    path = settings.org_path(f"clusters/{cluster_id(settings, cluster)}/secrets")
    label = f"Installing into {cluster}/{namespace}"
    with click.progressbar(length=1, label=label, file=sys.stderr) as bar:
        results = settings.api().call("POST", path, json=body)
        bar.update(1)
    rows = [(r["name"], r["namespace"], r["status"], r.get("error", "")) for r in results]
    settings.emit(results, output.table(("name", "namespace", "status", "error"), rows))
    if any(r["status"] == "failed" for r in results):
        ctx.exit(FAILED)
