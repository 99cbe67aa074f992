"""``export`` and ``import`` against a live server and real OpenBao: a ``.env`` file goes
in as a generic secret and comes back out byte for byte; the other formats hold the same
values."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline_secrets_cli import dotenv
from secrets_app.models import SecretIndex
from tests.cli_helpers import Cli, files_text, token_for
from tests.conftest import Personas

pytestmark = pytest.mark.django_db(transaction=True)

# Keys out of alphabetical order, bare and quoted values, escapes, '=' and '#' in values.
ENV_FILE = (
    "ZED=last-but-first\n"
    "DATABASE_URL=postgres://app:pw@db:5432/app?sslmode=require\n"
    'GREETING="hello world, it\'s me"\n'
    'QUOTED="say \\"hi\\" \\$HOME \\\\ back"\n'
    'MULTILINE="line one\\nline two\\ttabbed"\n'
    'HASH="not # a comment"\n'
    "EMPTY=\n"
    "A_KEY=a=b=c\n"
)


@pytest.fixture
def cli(vault: Any, personas: Personas, live_server: Any, tmp_path: Path) -> Cli:
    home = tmp_path / "home"
    home.mkdir()
    return Cli(live_server.url, home, token=token_for(personas.member))


def test_a_dotenv_file_round_trips_byte_for_byte(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "app.env"
    source.write_bytes(ENV_FILE.encode())
    done = cli.run("import", str(source), "--name", "app-env", "--tag", "env:prod")
    assert done.returncode == 0, done.stderr
    assert "with 8 keys" in done.stdout and "last-but-first" not in done.stdout
    row = SecretIndex.objects.get(name="app-env")
    assert row.type == "generic" and "env:prod" in row.tags
    # The file's key order, kept in a tag since the server keeps values as a map.
    assert any(t.startswith("env-order.1:ZED/DATABASE_URL/") for t in row.tags)
    out = tmp_path / "out.env"
    exported = cli.run("export", "--secret", "app-env", "--format", "dotenv", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    assert out.read_bytes() == ENV_FILE.encode()
    printed = cli.run("export", "--tag", "env:prod")
    assert printed.stdout.encode() == ENV_FILE.encode()
    again = cli.run("import", str(source), "--name", "app-env")
    assert again.returncode == 5 and "app-env" in again.stderr


def test_the_other_formats_hold_the_same_values(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "app.env"
    source.write_text(ENV_FILE)
    assert cli.run("import", str(source), "--name", "app-env").returncode == 0
    values = dotenv.loads(ENV_FILE)
    as_json = cli.run("export", "--secret", "app-env", "--format", "json")
    assert json.loads(as_json.stdout) == values
    as_yaml = cli.run("export", "--secret", "app-env", "--format", "yaml")
    assert yaml.safe_load(as_yaml.stdout) == values
    manifest = yaml.safe_load(
        cli.run("export", "--secret", "app-env", "--format", "k8s-secret").stdout
    )
    assert manifest["kind"] == "Secret" and manifest["metadata"]["name"] == "app-env"
    decoded = {k: base64.b64decode(v).decode() for k, v in manifest["data"].items()}
    assert decoded == values
    assert files_text(cli.home) == ""


def test_a_bad_file_is_refused_naming_the_line(cli: Cli, tmp_path: Path) -> None:
    source = tmp_path / "bad.env"
    source.write_text("GOOD=1\nnot a pair\n")
    done = cli.run("import", str(source), "--name", "bad")
    assert done.returncode == 2 and "bad.env, line 2: expected KEY=VALUE" in done.stderr
    assert not SecretIndex.objects.filter(name="bad").exists()


def test_dotenv_reads_what_it_writes() -> None:
    values = {"A": "x y", "B": "'single'", "C": "tab\there", "D": "", "E": "back\\slash"}
    assert dotenv.loads(dotenv.dumps(values)) == values
    assert dotenv.loads("export K='lit $x \\n'  # note\n") == {"K": "lit $x \\n"}
