"""What every command shares: the server, the token, the organization, the output mode."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

import click

from pipeline_secrets_cli import config
from pipeline_secrets_cli.client import Api
from pipeline_secrets_cli.errors import FORBIDDEN, NOT_FOUND, USAGE, CliError


@dataclass
class Settings:
    url: str | None
    token: str | None
    org: str | None
    json_output: bool = False
    _api: Api | None = field(default=None, repr=False)
    _org_id: int | None = field(default=None, repr=False)

    def credentials(self) -> config.Credentials | None:
        return config.load()

    def server_url(self) -> str:
        saved = self.credentials()
        url = self.url or (saved.url if saved else None)
        if not url:
            raise CliError("no server: give --url or PIPELINE_SECRETS_URL", USAGE)
        return url

    def api(self) -> Api:
        if self._api is None:
            saved = self.credentials()
            token = self.token or (saved.token if saved else None)
            if not token:
                raise CliError(
                    "not signed in: run `pipeline-secrets login` or set PIPELINE_SECRETS_TOKEN",
                    FORBIDDEN,
                )
            self._api = Api(self.server_url(), token)
        return self._api

    def org_id(self) -> int:
        """The organization: --org (a name or an id), the token's own, or the only one."""
        if self._org_id is None:
            self._org_id = self._resolve_org()
        return self._org_id

    def _resolve_org(self) -> int:
        orgs = self.api().get("orgs")
        if self.org:
            for org in orgs:
                if self.org in (org["name"], str(org["id"])):
                    return int(org["id"])
            raise CliError(f"organization {self.org!r} not found for this token", NOT_FOUND)
        saved = self.credentials()
        if not self.token and saved and saved.organization:
            return saved.organization
        if len(orgs) == 1:
            return int(orgs[0]["id"])
        names = ", ".join(o["name"] for o in orgs) or "none"
        raise CliError(f"choose an organization with --org (yours: {names})", USAGE)

    def org_path(self, rest: str = "") -> str:
        return f"orgs/{self.org_id()}/{rest}".rstrip("/")

    def emit(self, data: Any, text: str | None = None) -> None:
        """``--json``: the data as JSON; otherwise ``text`` (or the data) for people."""
        if self.json_output or text is None:
            click.echo(json.dumps(data, indent=2, sort_keys=False))
        else:
            click.echo(text)


def settings_of(ctx: click.Context) -> Settings:
    settings = ctx.find_object(Settings)
    assert settings is not None
    return settings


def colour() -> bool:
    return sys.stdout.isatty()


def _set_json(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        settings_of(ctx).json_output = True


json_option = click.option(
    "--json",
    "json_output",
    is_flag=True,
    expose_value=False,
    callback=_set_json,
    help="Machine-readable output.",
)
