"""The original product's command-line client, run unmodified against the live server.

``BanzaiCli`` writes the client's config file (server root, API token, organization) in a
temporary home and runs the binary with a clean environment and a timeout: ``run`` with
pipes (the client is then non-interactive and reads requests from stdin), ``spawn`` on a
pseudo-terminal for its interactive questions.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect
import pytest
import yaml

from tests import original_reference

# Tests that run it carry @pytest.mark.original_reference("cli").
BANZAI = original_reference.path("cli")
TIMEOUT = 30
# Survey's prompts colour and move the cursor; what the questions say is what is left.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain(text: str) -> str:
    """Terminal output without its escape sequences."""
    return _ANSI.sub("", text).replace("\r", "")


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.returncode == 0, (self.returncode, self.stdout, self.stderr)
        return json.loads(self.stdout)


@dataclass
class BanzaiCli:
    home: Path
    base_url: str
    token: str
    organization_id: int

    @property
    def config(self) -> Path:
        return self.home / "banzai.yaml"

    def write_config(self) -> None:
        if not BANZAI.is_file():
            pytest.fail(f"the banzai client is not at {BANZAI} (see its README)")
        document = {
            "pipeline": {"basepath": self.base_url, "token": self.token},
            "organization": {"id": self.organization_id},
            "formatting": {"no-color": True},
        }
        self.config.write_text(yaml.safe_dump(document))

    def env(self) -> dict[str, str]:
        return {
            "HOME": str(self.home),
            "PATH": "/usr/bin:/bin",
            "BANZAICONFIG": str(self.config),
            "TERM": "xterm",
            "LANG": "C.UTF-8",
        }

    def run(self, *args: str, stdin: str | dict[str, Any] = "") -> Result:
        """The client with pipes for stdin and stdout, so it asks nothing."""
        text = stdin if isinstance(stdin, str) else json.dumps(stdin)
        completed = subprocess.run(
            [str(BANZAI), *args],
            input=text,
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=self.home,
            timeout=TIMEOUT,
            check=False,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr)

    def spawn(self, *args: str) -> pexpect.spawn:
        """The client on a pseudo-terminal, to answer its questions as a user would."""
        return pexpect.spawn(
            str(BANZAI),
            list(args),
            env=self.env(),
            cwd=str(self.home),
            timeout=TIMEOUT,
            encoding="utf-8",
            dimensions=(50, 200),
        )


# Survey asks the terminal where its cursor is (and, by moving it to 999;999 first, how big
# the terminal is); a real terminal answers, so the tests answer as one would.
_WHERE = "\x1b[6n"
_TO_CORNER = "\x1b[999;999f"
ROWS, COLUMNS = 50, 200


def _answer_cursor_question(child: pexpect.spawn) -> None:
    corner = (child.before or "").endswith(_TO_CORNER)
    child.send(f"\x1b[{ROWS};{COLUMNS}R" if corner else "\x1b[1;1R")


def expect_one_of(child: pexpect.spawn, patterns: list[Any]) -> int:
    """Waits for the first of ``patterns`` (texts, or ``pexpect.EOF``) in the client's
    output, answering its cursor questions meanwhile; returns the index of the one seen."""
    while True:
        index = int(child.expect_exact([*patterns, _WHERE]))
        if index < len(patterns):
            return index
        _answer_cursor_question(child)


def expect_prompt(child: pexpect.spawn, text: str) -> None:
    expect_one_of(child, [text])


def answer(child: pexpect.spawn, prompt: str, keys: str) -> None:
    """Answers the question ``prompt`` with ``keys`` (ending in Enter) and waits until the
    client has taken the answer (its line ends), so the next question is a new one."""
    expect_prompt(child, prompt)
    child.send(keys)
    expect_prompt(child, "\r\n")
