"""Rotation and renewal of each rotatable type, checked by the real programs: openssl
verifies renewed chains, ssh-keygen reads rotated keys, htpasswd verifies rotated passwords.
The clock is passed in (``Context.now``) and given to openssl with ``-attime``."""

from __future__ import annotations

import random
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from django.core.exceptions import ValidationError

from secrets_app.types import REGISTRY, Context, tlsgen
from secrets_app.types.password import spec_of
from secrets_app.types.pem import certificate_pem
from secrets_app.types.tls import certificates

NOW = datetime.now(UTC).replace(microsecond=0)
WINDOW = timedelta(days=30)
TLS, SSH, PKE = REGISTRY["tls"], REGISTRY["ssh"], REGISTRY["pkecert"]


def program(name: str) -> str:
    """The path of a required program; a missing one fails the test (never skips it)."""
    path = shutil.which(name)
    assert path, f"{name} is missing: run tools/install-test-deps.sh"
    return path


def ctx(now: datetime = NOW) -> Context:
    return Context(rng=random.Random(), now=now)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o600)
    return path


def openssl_verifies(
    tmp_path: Path, ca_bundle: str, leaf: str, when: datetime, purpose: str = "sslserver"
) -> bool:
    """``openssl verify`` of ``leaf`` against the CAs of ``ca_bundle`` at time ``when``."""
    done = subprocess.run(
        [
            program("openssl"),
            "verify",
            "-attime",
            str(int(when.timestamp())),
            "-purpose",
            purpose,
            "-CAfile",
            write(tmp_path, "ca.pem", ca_bundle),
            write(tmp_path, "leaf.pem", leaf),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.returncode == 0 and done.stdout.strip().endswith(": OK")


def cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


# --------------------------------------------------------------------------- passwords


def test_password_rotation_keeps_length_and_alphabet_and_changes_the_password():
    password = REGISTRY["password"]
    for spec in ("randNumeric,8", "randAlpha,30", "randAlphaNum,24", "randAscii,40"):
        stored = password.clean({"username": "u", "password": spec}, ctx()).values
        rotated = password.rotate(stored, ctx())
        assert rotated.values["username"] == "u"
        assert rotated.values["password"] != stored["password"]
        assert spec_of(rotated.values["password"]) == spec_of(stored["password"])
        assert rotated.generated == {"password": rotated.values["password"]}
    assert spec_of("hunter2") == ("randAlphaNum", 7)
    assert spec_of("") == ("randAlphaNum", 24)


def test_htpasswd_rotation_is_verified_by_apache_htpasswd(tmp_path):
    htpasswd = REGISTRY["htpasswd"]
    stored = htpasswd.clean({"username": "web"}, ctx()).values
    rotated = htpasswd.rotate(stored, ctx()).values
    assert rotated["password"] != stored["password"]
    assert rotated["htpasswd"] != stored["htpasswd"]
    path = write(tmp_path, "htpasswd", rotated["htpasswd"] + "\n")
    check = [program("htpasswd"), "-vb", str(path), "web"]
    assert subprocess.run([*check, rotated["password"]], capture_output=True).returncode == 0
    assert subprocess.run([*check, stored["password"]], capture_output=True).returncode != 0


# --------------------------------------------------------------------------- ssh


@pytest.mark.parametrize("key_type", ["ed25519", "rsa"])
def test_ssh_rotation_makes_a_key_of_the_same_kind_that_ssh_keygen_reads(tmp_path, key_type):
    stored = SSH.clean({"user": "deploy", "identifier": "ci", "keyType": key_type}, ctx()).values
    rotated = SSH.rotate(stored, ctx()).values
    assert rotated["private_key_data"] != stored["private_key_data"]
    assert rotated["public_key_data"] != stored["public_key_data"]
    private = write(tmp_path, "id", rotated["private_key_data"])
    public = subprocess.run(
        [program("ssh-keygen"), "-y", "-f", str(private)], capture_output=True, text=True
    )
    assert public.returncode == 0, public.stderr
    kind, blob = public.stdout.split()[:2]
    assert rotated["public_key_data"] == f"{kind} {blob} deploy@ci"
    assert kind == ("ssh-ed25519" if key_type == "ed25519" else "ssh-rsa")
    listed = subprocess.run(
        [program("ssh-keygen"), "-l", "-f", str(private)], capture_output=True, text=True
    )
    assert rotated["public_key_fingerprint"] in listed.stdout


# --------------------------------------------------------------------------- pkecert


def test_pkecert_rotation_makes_new_cas_that_openssl_accepts(tmp_path):
    stored = PKE.clean({}, ctx()).values
    rotated = PKE.rotate(stored, ctx()).values
    for name in ("caCert", "kubernetesCaCert", "etcdCaCert", "frontProxyCaCert"):
        assert rotated[name] != stored[name]
        ca = rotated[name]
        assert openssl_verifies(tmp_path, ca, ca, NOW, purpose="any"), name
    assert rotated["saKey"] != stored["saKey"]
    derived = subprocess.run(
        [
            program("openssl"),
            "pkey",
            "-pubout",
            "-in",
            str(write(tmp_path, "sa", rotated["saKey"])),
        ],
        capture_output=True,
        text=True,
    )
    assert derived.stdout == rotated["saPub"]


# --------------------------------------------------------------------------- tls


def test_tls_rotation_makes_a_new_chain_and_keeps_the_old_ca_in_the_bundle(tmp_path):
    stored = TLS.clean({"hosts": "localhost", "validity": "720h", "keyType": "ecdsa-p256"}, ctx())
    rotated = TLS.rotate(stored.values, ctx()).values
    cas = certificates(rotated["caCert"])
    assert len(cas) == 2 and certificate_pem(cas[1]) == stored.values["caCert"]
    for name in ("serverCert", "clientCert", "peerCert", "serverKey", "caKey"):
        assert rotated[name] != stored.values[name]
    assert openssl_verifies(tmp_path, certificate_pem(cas[0]), rotated["serverCert"], NOW)
    assert openssl_verifies(tmp_path, rotated["caCert"], rotated["clientCert"], NOW, "sslclient")
    assert rotated["keyType"] == "ecdsa-p256" and "BEGIN PRIVATE KEY" in rotated["serverKey"]
    # Stored values with a bundle still validate as supplied certificates.
    TLS.verify(rotated, ctx())


def _supplied_chain(now: datetime, ca_days: int, leaf_hours: int) -> dict[str, str]:
    """A CA valid ``ca_days`` and leaves valid ``leaf_hours``, as supplied certificates."""
    made = ctx(now)
    ca_pem, key_pem = tlsgen.generate_ca("Team CA", timedelta(days=ca_days), "rsa-2048", made)
    ca = cert(ca_pem)
    from secrets_app.types.pem import load_private_key

    ca_key, _ = load_private_key(key_pem)
    window = (now - tlsgen.BACKDATE, now + timedelta(hours=leaf_hours))
    leaves = tlsgen.issue_leaves(ca, ca_key, ["localhost"], window, "rsa-2048", made)  # type: ignore[arg-type]
    values = {"hosts": "localhost", "caCert": ca_pem, "caKey": key_pem, **leaves}
    return TLS.clean(values, made).values


def test_leaves_inside_their_window_are_reissued_by_the_same_ca_and_not_before(tmp_path):
    stored = _supplied_chain(NOW, ca_days=365, leaf_hours=9)
    due = TLS.renewal_due(stored, WINDOW)
    # A third of a 9-hour validity (plus the minute it is backdated) before it ends.
    server = cert(stored["serverCert"])
    assert (
        due
        == server.not_valid_after_utc
        - (server.not_valid_after_utc - server.not_valid_before_utc) / 3
    )
    renewed = TLS.renew(stored, ctx(due), WINDOW)
    values = renewed.values
    assert values["caCert"] == stored["caCert"] and values["caKey"] == stored["caKey"]
    for name in ("serverCert", "serverKey", "clientCert", "peerCert"):
        assert values[name] != stored[name]
    new_server = cert(values["serverCert"])
    span = new_server.not_valid_after_utc - new_server.not_valid_before_utc
    assert span == server.not_valid_after_utc - server.not_valid_before_utc
    assert openssl_verifies(tmp_path, values["caCert"], values["serverCert"], due)
    assert openssl_verifies(tmp_path, values["caCert"], values["peerCert"], due, "sslclient")
    assert (TLS.renewal_due(values, WINDOW) or due) > due
    assert renewed.expires_at == new_server.not_valid_after_utc


def test_generated_short_chain_is_due_a_third_of_its_validity_before_it_ends():
    stored = TLS.clean({"hosts": "localhost", "validity": "3h"}, ctx()).values
    due = TLS.renewal_due(stored, WINDOW)
    assert due == NOW - tlsgen.BACKDATE + (timedelta(hours=3) + tlsgen.BACKDATE) * 2 / 3
    long = TLS.clean({"hosts": "localhost", "validity": "8760h"}, ctx()).values
    assert TLS.renewal_due(long, WINDOW) == NOW + timedelta(hours=8760) - WINDOW


def test_ca_rotation_bundle_verifies_old_and_new_server_certificates(tmp_path):
    stored = TLS.clean({"hosts": "localhost,127.0.0.1", "validity": "2400h"}, ctx()).values
    due = TLS.renewal_due(stored, WINDOW)
    assert due is not None
    renewed = TLS.renew(stored, ctx(due), WINDOW).values
    bundle = renewed["caCert"]
    new_ca, old_ca = certificates(bundle)
    assert certificate_pem(old_ca) == stored["caCert"] and renewed["caKey"] != stored["caKey"]
    during = due + timedelta(days=1)
    # During the transition the installed ca.crt trusts the copies not yet reloaded too.
    assert openssl_verifies(tmp_path, bundle, stored["serverCert"], during)
    assert openssl_verifies(tmp_path, bundle, renewed["serverCert"], during)
    assert TLS.install_data(renewed)["ca.crt"] == bundle
    # Each CA alone verifies only its own leaves.
    assert not openssl_verifies(tmp_path, certificate_pem(new_ca), stored["serverCert"], during)
    assert not openssl_verifies(tmp_path, certificate_pem(old_ca), renewed["serverCert"], during)
    # The transition ends when the old CA expires: the next renewal drops it.
    assert TLS.renewal_due(renewed, WINDOW) == old_ca.not_valid_after_utc
    after = old_ca.not_valid_after_utc + timedelta(seconds=1)
    pruned = TLS.renew(renewed, ctx(after), WINDOW)
    assert pruned.values["caCert"] == certificate_pem(new_ca)
    assert pruned.values["serverCert"] == renewed["serverCert"]
    assert set(pruned.generated) == {"caCert"}


def test_tls_without_its_ca_key_is_not_renewed_here():
    stored = _supplied_chain(NOW, ca_days=365, leaf_hours=9)
    without_key = {k: v for k, v in stored.items() if k != "caKey"}
    assert TLS.renewal_due(without_key, WINDOW) is None
    with pytest.raises(ValidationError):
        TLS.renew(without_key, ctx(), WINDOW)
