"""htpasswd lines made by the product are accepted by Apache's own htpasswd program."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from secrets_app.types import REGISTRY, Context

pytestmark = pytest.mark.django_db


def program(name: str) -> str:
    """The path of a required program; a missing one fails the test (never skips it)."""
    path = shutil.which(name)
    assert path, f"{name} is missing: run tools/install-test-deps.sh"
    return path


def htpasswd_verifies(tmp_path: Path, line: str, user: str, password: str) -> bool:
    """``htpasswd -vb``: exit 0 when the file's entry for ``user`` takes ``password``."""
    path = tmp_path / "htpasswd"
    path.write_text(line + "\n")
    done = subprocess.run(
        [program("htpasswd"), "-vb", str(path), user, password], capture_output=True, timeout=30
    )
    return done.returncode == 0


def url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/secrets"


def test_generated_password_verifies_against_the_stored_line(vault, personas, clients, tmp_path):
    member, org = clients["member"], personas.org.pk
    body = {"name": "basic-auth", "type": "htpasswd", "values": {"username": "web"}}
    created = member.post(url(org), body, format="json")
    assert created.status_code == 201, created.content
    password = created.json()["generated"]["password"]
    values = member.get(f"{url(org)}/{created.json()['id']}?values=true").json()["values"]
    # The generated password is kept, so it can be read back later to log in.
    assert set(values) == {"username", "password", "htpasswd"}
    assert values["password"] == password
    assert password not in values["htpasswd"]
    assert htpasswd_verifies(tmp_path, values["htpasswd"], "web", password)
    assert not htpasswd_verifies(tmp_path, values["htpasswd"], "web", password + "x")
    assert not htpasswd_verifies(tmp_path, values["htpasswd"], "other", password)


def test_supplied_password_and_spec_verify(vault, personas, clients, tmp_path):
    member, org = clients["member"], personas.org.pk
    for name, given in (("given", "correct horse: battery"), ("spec", "randAscii,40")):
        body = {"name": name, "type": "htpasswd", "values": {"username": "u", "password": given}}
        created = member.post(url(org), body, format="json").json()
        password = created["generated"].get("password", given)
        assert len(password) == (40 if name == "spec" else len(given))
        values = member.get(f"{url(org)}/{created['id']}?values=true").json()["values"]
        assert values["password"] == password
        assert htpasswd_verifies(tmp_path, values["htpasswd"], "u", password)


def test_a_line_made_by_htpasswd_is_accepted_as_is(tmp_path):
    made = subprocess.run(
        [program("htpasswd"), "-nbB", "-C", "10", "ops", "s3cret"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    prepared = REGISTRY["htpasswd"].clean({"username": "ops", "htpasswd": made}, Context())
    assert prepared.values["htpasswd"] == made and prepared.generated == {}
    assert htpasswd_verifies(tmp_path, made, "ops", "s3cret")
