"""``login`` by a code confirmed on the dashboard, ``logout``, ``whoami``."""

from __future__ import annotations

import platform
import time
from typing import Any

import click

from pipeline_secrets_cli import config
from pipeline_secrets_cli.client import Api
from pipeline_secrets_cli.context import json_option, settings_of
from pipeline_secrets_cli.errors import FAILED, FORBIDDEN, CliError, problem_line

PENDING = 428
SLOW_DOWN = 429


def wait_for_token(api: Api, codes: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    """Polls until the person confirms (the token) or denies, or the code expires."""
    interval = max(1, int(codes.get("interval") or 5))
    deadline = time.monotonic() + (timeout or float(codes.get("expiresIn") or 600))
    while time.monotonic() < deadline:
        time.sleep(interval)
        response = api.raw("POST", "device/token", json={"deviceCode": codes["deviceCode"]})
        if response.status_code == 200:
            return dict(response.json())
        if response.status_code == SLOW_DOWN:
            interval += 1
            continue
        if response.status_code != PENDING:
            body = response.json() if response.content else None
            code = FORBIDDEN if response.status_code == 403 else FAILED
            raise CliError(problem_line(response.status_code, body), code)
    raise CliError("the code expired before it was confirmed; run login again", FAILED)


@click.command()
@click.option("--url", help="The server's base URL (or PIPELINE_SECRETS_URL).")
@json_option
@click.pass_context
def login(ctx: click.Context, url: str | None) -> None:
    """Sign in: confirm the code shown here on the dashboard, choosing the token's limits."""
    settings = settings_of(ctx)
    url = (url or settings.server_url()).rstrip("/")
    api = Api(url)
    name = f"pipeline-secrets on {platform.node() or 'this host'}"
    codes = api.call("POST", "device/codes", json={"clientName": name})
    click.echo(f"Open {codes['verificationUrl']} and enter the code:\n\n    {codes['userCode']}\n")
    click.echo(f"(or open {codes['verificationUrlComplete']})")
    click.echo("Waiting for the confirmation…", err=True)
    got = wait_for_token(api, codes)
    path = config.save(
        config.Credentials(
            url=url,
            token=got["token"],
            token_id=got.get("tokenId"),
            organization=got.get("organization"),
        )
    )
    limits = f"highest role {got.get('maxRole') or 'yours'}"
    if got.get("expiresAt"):
        limits += f", expires {got['expiresAt']}"
    settings.emit(
        {"signedIn": True, "url": url, "organization": got.get("organization"), "file": str(path)},
        f"Signed in to {url} ({limits}). Token kept in {path}.",
    )


@click.command()
@json_option
@click.pass_context
def logout(ctx: click.Context) -> None:
    """Revoke the saved token on the server and forget it here."""
    settings = settings_of(ctx)
    saved = config.load()
    if saved is None:
        settings.emit({"signedOut": False}, "Not signed in.")
        return
    try:
        Api(saved.url, saved.token).call("DELETE", "device/token")
    except CliError as exc:
        if exc.code != FORBIDDEN:  # already revoked or expired: forget it anyway
            raise
    config.forget()
    settings.emit({"signedOut": True}, f"Signed out of {saved.url}; the token is revoked.")


@click.command()
@json_option
@click.pass_context
def whoami(ctx: click.Context) -> None:
    """The server, and the organizations this token reaches with its role in each."""
    settings = settings_of(ctx)
    orgs = settings.api().get("orgs")
    lines = [f"{settings.server_url()}"] + [
        f"  {o['name']} (id {o['id']}): {o['role']}" for o in orgs
    ]
    settings.emit({"url": settings.server_url(), "organizations": orgs}, "\n".join(lines))
