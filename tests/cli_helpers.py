"""Driving the installed command-line client as a process (the ``pipeline-secrets`` console
script that ``make test`` installs into the virtualenv) against a live server, with its own
config home."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# The console script pyproject.toml declares, beside the interpreter running the tests.
SCRIPT = Path(sys.executable).parent / "pipeline-secrets"
USER_CODE = re.compile(r"\b([B-Z]{4}-[B-Z]{4})\b")


@dataclass
class Cli:
    url: str
    home: Path  # XDG_CONFIG_HOME of the client
    token: str | None = None

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PIPELINE_SECRETS_")}
        env.update({"XDG_CONFIG_HOME": str(self.home), "PIPELINE_SECRETS_URL": self.url})
        if self.token:
            env["PIPELINE_SECRETS_TOKEN"] = self.token
        env.update(extra)
        return env

    def args(self, *args: str) -> list[str]:
        assert SCRIPT.exists(), f"{SCRIPT} is missing: install the package (make venv)"
        return [str(SCRIPT), *args]

    def run(
        self, *args: str, input: str | None = None, timeout: float = 60, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.args(*args),
            env=self.env(**env),
            cwd=self.home,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.args(*args),
            env=self.env(**env),
            cwd=self.home,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def read_user_code(process: subprocess.Popen[str]) -> str:
    """The code ``login`` prints, read from its output as it comes."""
    assert process.stdout is not None and process.stderr is not None
    for line in process.stdout:
        found = USER_CODE.search(line)
        if found:
            return found.group(1)
    raise AssertionError(f"login printed no code: {process.stderr.read()}")


def files_text(directory: Path) -> str:
    """Everything the client wrote under ``directory``, as one text."""
    return "\n".join(
        p.read_text(errors="replace") for p in sorted(directory.rglob("*")) if p.is_file()
    )


def make_secret(
    personas: Any, name: str, values: dict[str, str], *, type: str = "generic", tags: Any = ()
) -> str:
    """A secret of org A written by its admin, as the API would; its id."""
    from secrets_app import services
    from secrets_app.types.base import Context

    written = services.secret_create(
        actor=personas.admin,
        organization=personas.org,
        name=name,
        type=type,
        values=values,
        tags=list(tags),
        ctx=Context(verify_remote=False),
    )
    return written.row.secret_id


def update_secret(personas: Any, secret_id: str, values: dict[str, str]) -> None:
    from secrets_app import services
    from secrets_app.types.base import Context

    services.secret_update(
        actor=personas.admin,
        organization=personas.org,
        secret_id=secret_id,
        values=values,
        ctx=Context(verify_remote=False),
    )


def token_for(user: Any, **limits: Any) -> str:
    from orgs import services

    return services.token_create(user=user, name="cli-tests", **limits)[1]
