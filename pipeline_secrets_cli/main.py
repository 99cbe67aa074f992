"""``pipeline-secrets``: the command group, its shared options and its exit codes."""

from __future__ import annotations

from collections.abc import Sequence

import click

from pipeline_secrets_cli import commands, lifecycle, login, run, transfer
from pipeline_secrets_cli.context import Settings
from pipeline_secrets_cli.errors import CliError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.option("--url", envvar="PIPELINE_SECRETS_URL", help="The server's base URL.")
@click.option("--token", envvar="PIPELINE_SECRETS_TOKEN", help="An API token (for CI).")
@click.option("--org", envvar="PIPELINE_SECRETS_ORG", help="The organization: name or id.")
@click.option("--json", "json_output", is_flag=True, help="Machine-readable output.")
@click.pass_context
def cli(
    ctx: click.Context, url: str | None, token: str | None, org: str | None, json_output: bool
) -> None:
    """Secrets of Pipeline Secrets, from a shell or a pipeline.

    Exit codes: 0 ok, 2 usage, 3 not found, 4 forbidden, 5 conflict, 6 server unavailable.
    """
    ctx.obj = Settings(url=url, token=token, org=org, json_output=json_output)


for command in (
    login.login,
    login.logout,
    login.whoami,
    run.run,
    transfer.export,
    transfer.import_,
    commands.list_,
    commands.get,
    commands.set_,
    commands.rm,
    commands.tag,
    lifecycle.rotate,
    lifecycle.versions,
    lifecycle.rollback,
    lifecycle.install,
):
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="pipeline-secrets",
            standalone_mode=False,
        )
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except CliError as exc:
        click.echo(f"error: {exc.message}", err=True)
        return exc.code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return result if isinstance(result, int) else 0
