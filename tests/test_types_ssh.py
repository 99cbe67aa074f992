"""The ssh type: keys checked by the real ssh-keygen, supplied pairs validated, and the type
end to end through the API."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from django.core.exceptions import ValidationError

from secrets_app.types import REGISTRY, Context
from tests.helpers import assert_problem

SSH = REGISTRY["ssh"]


def program(name: str) -> str:
    """The path of a required program; a missing one fails the test (never skips it)."""
    path = shutil.which(name)
    assert path, f"{name} is missing: run tools/install-test-deps.sh"
    return path


def keygen(*args: str | Path) -> str:
    done = subprocess.run(
        [program("ssh-keygen"), *map(str, args)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def key_files(tmp_path: Path, values: dict[str, str]) -> tuple[Path, Path]:
    private, public = tmp_path / "id", tmp_path / "id.pub"
    private.write_text(values["private_key_data"])
    private.chmod(0o600)  # ssh-keygen refuses a private key others can read
    public.write_text(values["public_key_data"] + "\n")
    return private, public


def errors_of(values: dict[str, str]) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        SSH.clean(values, Context())
    return caught.value.message_dict


@pytest.mark.parametrize(
    ("key_type", "label", "bits"), [(None, "ssh-ed25519", "256"), ("rsa", "ssh-rsa", "4096")]
)
def test_generated_pair_agrees_with_ssh_keygen(tmp_path, key_type, label, bits):
    values = {"user": "deploy", "identifier": "ci.example.com"}
    if key_type:
        values["keyType"] = key_type
    prepared = SSH.clean(values, Context())
    stored = prepared.values
    assert set(prepared.generated) == {
        "private_key_data",
        "public_key_data",
        "public_key_fingerprint",
    }
    assert stored["private_key_data"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert stored["public_key_data"].endswith(" deploy@ci.example.com")
    private, public = key_files(tmp_path, stored)
    derived = keygen("-y", "-f", private).split()
    assert derived[:2] == stored["public_key_data"].split()[:2]
    assert derived[0] == label
    listed = keygen("-lf", public).split()
    assert listed[0] == bits
    assert listed[1] == stored["public_key_fingerprint"]
    assert listed[2] == "deploy@ci.example.com"
    assert keygen("-lf", private).split()[1] == stored["public_key_fingerprint"]


def test_fields_and_kubernetes_type():
    fields = {f.name: f for f in SSH.fields}
    assert not any(f.required for f in SSH.fields)
    assert fields["public_key_data"].safe_to_display
    assert not fields["private_key_data"].safe_to_display
    assert SSH.kubernetes_type == "kubernetes.io/ssh-auth" and SSH.sourcing == "volume"


def test_supplied_key_made_by_ssh_keygen_is_accepted_and_fingerprint_recomputed(tmp_path):
    keygen("-q", "-t", "ecdsa", "-N", "", "-C", "made-here", "-f", tmp_path / "k")
    private = (tmp_path / "k").read_text()
    public = (tmp_path / "k.pub").read_text().strip()
    prepared = SSH.clean(
        {
            "private_key_data": private,
            "public_key_data": public,
            "public_key_fingerprint": "SHA256:forged",
        },
        Context(),
    )
    assert prepared.generated == {}
    assert prepared.values["public_key_data"] == public
    assert prepared.values["public_key_fingerprint"] == keygen("-lf", tmp_path / "k.pub").split()[1]


def test_pem_private_key_is_stored_in_openssh_form_and_public_key_derived(tmp_path):
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    values = SSH.clean({"private_key_data": pem, "user": "git"}, Context()).values
    assert values["public_key_data"].endswith(" git")
    assert values["private_key_data"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    private, _ = key_files(tmp_path, values)
    assert keygen("-y", "-f", private).split()[:2] == values["public_key_data"].split()[:2]


def test_mismatched_pair_is_refused():
    one = SSH.clean({}, Context()).values
    other = SSH.clean({}, Context()).values
    errors = errors_of(
        {"private_key_data": one["private_key_data"], "public_key_data": other["public_key_data"]}
    )
    assert errors == {"values.public_key_data": ["Does not match private_key_data."]}


@pytest.mark.parametrize(
    "public",
    [
        "ssh-ed25519",
        "ssh-ed25519 not-base64!",
        "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIFb3IPwFkp7bhaJYgWiGPBbhCdnqhJ2VB0nLkEYYP0YB x",
        "hello world",
    ],
)
def test_malformed_public_key_is_refused(public):
    private = SSH.clean({}, Context()).values["private_key_data"]
    errors = errors_of({"private_key_data": private, "public_key_data": public})
    assert "Not an OpenSSH public key line" in errors["values.public_key_data"][0]


def test_bad_private_keys_are_refused(tmp_path):
    assert "values.private_key_data" in errors_of({"private_key_data": "junk"})
    keygen("-q", "-t", "ed25519", "-N", "passphrase", "-f", tmp_path / "locked")
    errors = errors_of({"private_key_data": (tmp_path / "locked").read_text()})
    assert "Passphrase" in errors["values.private_key_data"][0]
    secp = ec.generate_private_key(ec.SECP256K1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    assert "values.private_key_data" in errors_of({"private_key_data": secp.decode()})


def test_public_key_without_private_key_is_refused():
    public = SSH.clean({}, Context()).values["public_key_data"]
    assert "values.public_key_data" in errors_of({"public_key_data": public})


def test_other_field_errors():
    assert "values.keyType" in errors_of({"keyType": "dsa"})
    assert "values.user" in errors_of({"user": "two words"})


def url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/secrets"


@pytest.mark.django_db
def test_ssh_through_the_api(vault, personas, clients, tmp_path):
    member, org = clients["member"], personas.org.pk
    body = {"name": "deploy-key", "type": "ssh", "values": {"user": "git", "identifier": "ci"}}
    created = member.post(url(org), body, format="json")
    assert created.status_code == 201, created.content
    answer = created.json()
    generated = answer["generated"]
    assert generated["public_key_data"].endswith(" git@ci")
    detail = f"{url(org)}/{answer['id']}"
    values = member.get(detail).json()["values"]
    assert values["private_key_data"] == generated["private_key_data"]
    _, public = key_files(tmp_path, values)
    assert keygen("-lf", public).split()[1] == values["public_key_fingerprint"]
    assert [s["name"] for s in member.get(url(org) + "?type=ssh").json()] == ["deploy-key"]
    assert member.delete(detail).status_code == 204
    assert member.get(url(org)).json() == []


@pytest.mark.django_db
def test_ssh_api_field_errors(vault, personas, clients):
    member, org = clients["member"], personas.org.pk

    def post(values: dict[str, str]) -> Any:
        return member.post(url(org), {"name": "k", "type": "ssh", "values": values}, format="json")

    assert_problem(post({"user": "git", "bogus": "x"}), 400, field="values.bogus")
    body = assert_problem(
        post({"private_key_data": "junk-key"}), 400, field="values.private_key_data"
    )
    assert "junk-key" not in str(body)
    assert_problem(post({"keyType": "dsa"}), 400, field="values.keyType")
    assert member.get(url(org)).json() == []
