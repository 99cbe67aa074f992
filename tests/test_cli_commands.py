"""The one-secret commands against a live server and real OpenBao: values masked unless
``--reveal``, ``--json`` output, stable exit codes, a viewer-limited token refused a
write, and no value in the client's own files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from secrets_app.models import SecretIndex
from tests.cli_helpers import Cli, files_text, make_secret, token_for
from tests.conftest import Personas

pytestmark = pytest.mark.django_db(transaction=True)

VALUE = "Tr0ub4dor-value"


@pytest.fixture
def cli(vault: Any, personas: Personas, live_server: Any, tmp_path: Path) -> Cli:
    make_secret(personas, "db", {"username": "app", "password": VALUE}, tags=["env:prod"])
    home = tmp_path / "home"
    home.mkdir()
    return Cli(live_server.url, home, token=token_for(personas.member))


def test_values_are_masked_unless_revealed(cli: Cli) -> None:
    listed = cli.run("list")
    assert listed.returncode == 0 and "db" in listed.stdout and "env:prod" in listed.stdout
    shown = cli.run("get", "db")
    assert shown.returncode == 0 and "password: ••••••••" in shown.stdout
    as_json = json.loads(cli.run("get", "db", "--json").stdout)
    assert as_json["values"]["password"] == "••••••••"
    assert cli.run("get", "db", "--field", "password").stdout.strip() == "••••••••"
    revealed = cli.run("get", "db", "--field", "password", "--reveal")
    assert revealed.stdout.strip() == VALUE
    dotenv = cli.run("get", "db", "--format", "dotenv", "--reveal")
    assert dotenv.stdout == f"password={VALUE}\nusername=app\n"
    everything = "".join(
        cli.run(*args).stdout + cli.run(*args).stderr
        for args in (("list",), ("list", "--json"), ("get", "db"), ("versions", "db"))
    )
    assert VALUE not in everything
    assert VALUE not in files_text(cli.home)


def test_set_tag_versions_rollback_rm(cli: Cli) -> None:
    created = cli.run("set", "api", "--type", "generic", "KEY=one", "OTHER=x", "--tag", "t1")
    assert created.returncode == 0 and "Created api (version 1)" in created.stdout
    updated = cli.run("set", "api", "KEY=two")
    assert updated.returncode == 0 and "Updated api (version 2)" in updated.stdout
    got = json.loads(cli.run("get", "api", "--json", "--reveal").stdout)
    assert got["values"] == {"KEY": "two", "OTHER": "x"} and got["tags"] == ["t1"]
    tags = cli.run("tag", "api", "--add", "env:dev", "--remove", "t1", "--json")
    assert json.loads(tags.stdout) == ["env:dev"]
    versions = json.loads(cli.run("versions", "api", "--json").stdout)
    assert {1, 2} <= {v["version"] for v in versions}  # tag changes are versions too
    assert [v["version"] for v in versions if v["current"]] == [max(v["version"] for v in versions)]
    back = cli.run("rollback", "api", "--to", "1")
    assert back.returncode == 0, back.stderr
    assert cli.run("get", "api", "--field", "KEY", "--reveal").stdout.strip() == "one"
    assert cli.run("rm", "api", "--yes").returncode == 0
    assert not SecretIndex.objects.filter(name="api").exists()
    missing = cli.run("get", "api")
    assert missing.returncode == 3 and "error:" in missing.stderr


def test_rotate_masks_the_new_values(cli: Cli, personas: Personas) -> None:
    make_secret(personas, "pw", {"username": "u", "password": ""}, type="password")
    rotated = cli.run("rotate", "pw")
    assert rotated.returncode == 0 and "password: ••••••••" in rotated.stdout
    assert SecretIndex.objects.get(name="pw").version == 2


def test_exit_codes_and_problem_lines(cli: Cli, personas: Personas) -> None:
    viewer = Cli(cli.url, cli.home, token=token_for(personas.admin, max_role="viewer"))
    refused = viewer.run("set", "db", "password=new")
    assert refused.returncode == 4, refused.stderr
    assert "does not allow this" in refused.stderr and refused.stderr.count("\n") == 1
    new = viewer.run("set", "fresh", "--type", "generic", "A=1")
    assert new.returncode == 4
    bad = cli.run("set", "Bad_Name", "A=1")
    assert bad.returncode == 2 and "name" in bad.stderr
    env_file = cli.home / "x.env"
    env_file.write_text("A=1\n")
    conflict = cli.run("import", str(env_file), "--name", "db")
    assert conflict.returncode == 5
    usage = cli.run("get")
    assert usage.returncode == 2
    unknown_field = cli.run("get", "db", "--field", "nope")
    assert unknown_field.returncode == 3 and "username" in unknown_field.stderr


def test_shell_completion_is_offered(cli: Cli) -> None:
    done = cli.run(_PIPELINE_SECRETS_COMPLETE="bash_source")
    assert done.returncode == 0 and "_pipeline_secrets_completion" in done.stdout


def test_install_into_a_cluster(
    cli: Cli, personas: Personas, clients: Any, kube_control_plane: Any
) -> None:
    from tests.test_clusters import decoded, new_namespace, read_secret, register

    register(clients["admin"], personas.org.pk, "dev", kube_control_plane.admin_kubeconfig())
    namespace = new_namespace("cli")
    done = cli.run("install", "dev", "--namespace", namespace, "--secret", "db", "--json")
    assert done.returncode == 0, done.stderr
    assert [(r["name"], r["status"]) for r in json.loads(done.stdout)] == [("db", "installed")]
    assert decoded(read_secret(kube_control_plane, namespace, "db"))["password"] == VALUE
    assert VALUE not in done.stdout
    missing = cli.run("install", "nope", "--namespace", namespace, "--secret", "db")
    assert missing.returncode == 3 and "cluster 'nope' not found" in missing.stderr
