"""The tls type: generated chains checked by openssl and a real mutual-TLS handshake,
supplied certificates validated, and the type end to end through the API."""

from __future__ import annotations

import random
import shutil
import socket
import ssl
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.core.exceptions import ValidationError

from secrets_app.types import REGISTRY, Context
from secrets_app.types.tls import MATERIAL
from tests.helpers import assert_problem

TLS = REGISTRY["tls"]
NOW = datetime.now(UTC).replace(microsecond=0)
HOSTS = "localhost, 127.0.0.1, *.svc.example.com, ::1"


def program(name: str) -> str:
    """The path of a required program; a missing one fails the test (never skips it)."""
    path = shutil.which(name)
    assert path, f"{name} is missing: run tools/install-test-deps.sh"
    return path


def ctx(now: datetime = NOW, seed: int = 7) -> Context:
    return Context(rng=random.Random(seed), now=now)


def make(hosts: str = HOSTS, **extra: str) -> dict[str, str]:
    return TLS.clean({"hosts": hosts, **extra}, ctx()).values


def cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def write(tmp_path: Path, values: dict[str, str]) -> dict[str, Path]:
    paths = {}
    for name in MATERIAL:
        paths[name] = tmp_path / f"{name}.pem"
        paths[name].write_text(values[name])
        paths[name].chmod(0o600)
    return paths


def errors_of(values: dict[str, str], when: datetime = NOW) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        TLS.clean(values, ctx(when))
    return caught.value.message_dict


def test_openssl_verifies_every_leaf_against_the_ca_with_its_purpose(tmp_path):
    openssl = program("openssl")
    paths = write(tmp_path, make())
    for leaf, purposes in (
        ("serverCert", ["sslserver"]),
        ("clientCert", ["sslclient"]),
        ("peerCert", ["sslserver", "sslclient"]),
    ):
        for purpose in purposes:
            done = subprocess.run(
                [openssl, "verify", "-purpose", purpose, "-CAfile", paths["caCert"], paths[leaf]],
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0, (leaf, purpose, done.stdout, done.stderr)
            assert done.stdout.strip().endswith(": OK")
    wrong = subprocess.run(
        [
            openssl,
            "verify",
            "-purpose",
            "sslserver",
            "-CAfile",
            paths["caCert"],
            paths["clientCert"],
        ],
        capture_output=True,
    )
    assert wrong.returncode != 0


def test_generated_certificates_have_the_right_extensions_and_dates():
    prepared = TLS.clean({"hosts": HOSTS}, ctx())
    values = prepared.values
    assert set(prepared.generated) == set(MATERIAL)
    assert values["validity"] == "8760h" and values["keyType"] == "rsa-2048"
    ca = cert(values["caCert"])
    ca_bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert ca_bc.critical and ca_bc.value.ca
    ca_ku = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert ca_ku.critical and ca_ku.value.key_cert_sign and ca_ku.value.crl_sign
    assert not ca_ku.value.digital_signature
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    serials = {ca.serial_number}
    for prefix, usages in (
        ("server", {ExtendedKeyUsageOID.SERVER_AUTH}),
        ("client", {ExtendedKeyUsageOID.CLIENT_AUTH}),
        ("peer", {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}),
    ):
        leaf = cert(values[f"{prefix}Cert"])
        serials.add(leaf.serial_number)
        assert 0 < leaf.serial_number < 2**128
        bc = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
        assert bc.critical and not bc.value.ca
        ku = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        assert ku.digital_signature and ku.key_encipherment and not ku.key_cert_sign
        assert set(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == usages
        aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        assert aki.key_identifier == ca_ski.digest
        assert leaf.not_valid_before_utc == NOW - timedelta(minutes=1)
        assert leaf.not_valid_after_utc == NOW + timedelta(hours=8760)
        public = leaf.public_key()
        assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
        if prefix != "client":
            san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            assert san.get_values_for_type(x509.DNSName) == ["localhost", "*.svc.example.com"]
            assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == [
                "127.0.0.1",
                "::1",
            ]
    assert len(serials) == 4
    assert prepared.expires_at == NOW + timedelta(hours=8760)
    fields = {f.name: f for f in TLS.fields}
    assert fields["hosts"].required and fields["hosts"].safe_to_display
    assert fields["validity"].safe_to_display and not fields["caKey"].safe_to_display
    assert TLS.kubernetes_type == "kubernetes.io/tls" and TLS.sourcing == "volume"


def handshake(tmp_path: Path, server: dict[str, str], client: dict[str, str]) -> dict[str, Any]:
    """One TLS connection on loopback: the server demands a client certificate from its CA,
    the client checks the server against its CA as ``localhost``. What each side saw."""
    server_paths, client_paths = tmp_path / "srv", tmp_path / "cli"
    server_paths.mkdir(exist_ok=True)
    client_paths.mkdir(exist_ok=True)
    s, c = write(server_paths, server), write(client_paths, client)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(s["serverCert"], s["serverKey"])
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    server_ctx.load_verify_locations(cadata=server["caCert"])
    client_ctx = ssl.create_default_context(cadata=client["caCert"])
    client_ctx.load_cert_chain(c["clientCert"], c["clientKey"])
    outcome: dict[str, Any] = {}
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                outcome["client_subject"] = tls.getpeercert()["subject"]  # type: ignore[index]
                tls.sendall(b"hello " + tls.recv(16))
        except (ssl.SSLError, OSError) as exc:
            outcome["server_error"] = exc

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with (
            socket.create_connection(listener.getsockname(), timeout=10) as raw,
            client_ctx.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.sendall(b"ping")
            outcome["reply"] = tls.recv(64)
    except (ssl.SSLError, OSError) as exc:
        outcome["client_error"] = exc
    thread.join(10)
    listener.close()
    return outcome


def test_mutual_tls_handshake_with_generated_certificates(tmp_path):
    values = make()
    outcome = handshake(tmp_path, values, values)
    assert outcome.get("reply") == b"hello ping", outcome
    assert outcome["client_subject"] == ((("commonName", "client"),),)


def test_peer_certificate_serves_both_ends(tmp_path):
    values = make()
    as_peer = {
        **values,
        "serverCert": values["peerCert"],
        "serverKey": values["peerKey"],
        "clientCert": values["peerCert"],
        "clientKey": values["peerKey"],
    }
    assert handshake(tmp_path, as_peer, as_peer).get("reply") == b"hello ping"


def test_mutual_tls_refuses_a_client_certificate_from_another_ca(tmp_path):
    values = make()
    stranger = make()
    client = {**values, "clientCert": stranger["clientCert"], "clientKey": stranger["clientKey"]}
    outcome = handshake(tmp_path, values, client)
    assert isinstance(outcome.get("server_error"), ssl.SSLError), outcome
    assert outcome.get("reply") != b"hello ping"


def test_client_refuses_a_server_from_another_ca(tmp_path):
    values = make()
    client = {**values, "caCert": make()["caCert"]}
    outcome = handshake(tmp_path, values, client)
    assert isinstance(outcome.get("client_error"), ssl.SSLCertVerificationError), outcome


def test_ecdsa_certificates_verify_and_handshake(tmp_path):
    openssl = program("openssl")
    values = make(keyType="ecdsa-p256")
    server = cert(values["serverCert"])
    assert isinstance(server.public_key(), ec.EllipticCurvePublicKey)
    ku = server.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and not ku.key_encipherment
    paths = write(tmp_path, values)
    done = subprocess.run(
        [openssl, "verify", "-CAfile", paths["caCert"], paths["serverCert"], paths["peerCert"]],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert handshake(tmp_path, values, values).get("reply") == b"hello ping"


def test_rsa_4096_keys():
    values = make("localhost", keyType="rsa-4096")
    assert cert(values["caCert"]).public_key().key_size == 4096  # type: ignore[union-attr]
    assert cert(values["peerCert"]).public_key().key_size == 4096  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("validity", "length"),
    [("720h30m", timedelta(hours=720, minutes=30)), ("1.5h", timedelta(minutes=90))],
)
def test_go_style_validity_is_respected(validity, length):
    prepared = TLS.clean({"hosts": "localhost", "validity": validity}, ctx())
    for name in ("caCert", "serverCert", "clientCert", "peerCert"):
        assert cert(prepared.values[name]).not_valid_after_utc == NOW + length
    assert prepared.expires_at == NOW + length
    assert prepared.values["validity"] == validity


@pytest.mark.parametrize("validity", ["1y", "-5h", "0s", "h", "10", "900000h"])
def test_bad_validity_is_a_field_error(validity):
    assert "values.validity" in errors_of({"hosts": "localhost", "validity": validity})


@pytest.mark.parametrize("hosts", ["bad host", "a..b", "-x.example.com", "*.*.example.com", " , "])
def test_bad_hosts_are_a_field_error(hosts):
    assert "values.hosts" in errors_of({"hosts": hosts})


def test_unknown_key_type_is_a_field_error():
    assert "values.keyType" in errors_of({"hosts": "localhost", "keyType": "dsa"})


def test_supplied_valid_certificates_are_kept_not_regenerated():
    values = make()
    prepared = TLS.clean(values, ctx())
    assert prepared.values == values and prepared.generated == {}
    assert prepared.expires_at == NOW + timedelta(hours=8760)
    assert TLS.verify(values, ctx()).expires_at == prepared.expires_at


def assert_reason(errors: dict[str, list[str]], field: str, words: str, secret: str) -> None:
    assert f"values.{field}" in errors, errors
    message = " ".join(errors[f"values.{field}"])
    assert words in message, message
    assert secret.strip().splitlines()[1] not in str(errors)


def test_supplied_not_pem():
    values = make()
    bad = {
        **values,
        "serverCert": "-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----",
    }
    assert_reason(errors_of(bad), "serverCert", "Not a PEM certificate", bad["serverCert"])
    bad_key = {**values, "caKey": "not a key"}
    assert "values.caKey" in errors_of(bad_key)


def test_supplied_key_not_matching_its_certificate():
    values = make()
    bad = {**values, "serverKey": values["clientKey"]}
    assert_reason(errors_of(bad), "serverKey", "Does not match serverCert", values["clientKey"])


def test_supplied_expired_certificates():
    old = TLS.clean({"hosts": HOSTS, "validity": "1h"}, ctx(NOW - timedelta(days=3))).values
    errors = errors_of(old)
    for field in ("caCert", "serverCert", "clientCert", "peerCert"):
        assert_reason(errors, field, "expired", old[field])


def test_supplied_certificate_from_another_ca():
    values = make()
    other = make()
    bad = {**values, "serverCert": other["serverCert"], "serverKey": other["serverKey"]}
    assert_reason(errors_of(bad), "serverCert", "Not signed by caCert", other["serverCert"])
    bad_peer = {**values, "peerCert": other["peerCert"], "peerKey": other["peerKey"]}
    assert "values.peerCert" in errors_of(bad_peer)


def test_supplied_server_sans_must_cover_every_host():
    values = make("localhost,*.example.com")
    ok = TLS.clean({**values, "hosts": "localhost,a.example.com"}, ctx())
    assert ok.generated == {}
    errors = errors_of({**values, "hosts": "localhost,other.test,a.b.example.com"})
    message = " ".join(errors["values.serverCert"])
    assert "other.test" in message and "a.b.example.com" in message
    assert "localhost" not in message


def test_supplied_sets_must_be_complete():
    values = make()
    errors = errors_of({"hosts": HOSTS, "caCert": values["caCert"]})
    assert {"values.serverCert", "values.serverKey"} <= set(errors)
    without_client_key = {k: v for k, v in values.items() if k != "clientKey"}
    assert "Required with clientCert" in " ".join(errors_of(without_client_key)["values.clientKey"])


def test_a_leaf_as_ca_is_refused():
    values = make()
    errors = errors_of({**values, "caCert": values["serverCert"], "caKey": values["serverKey"]})
    assert "CA" in " ".join(errors["values.caCert"])


# --- through the API ----------------------------------------------------------------


def url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/secrets"


@pytest.mark.django_db
def test_tls_through_the_api(vault, personas, clients):
    member, org = clients["member"], personas.org.pk
    body = {"name": "edge-tls", "type": "tls", "values": {"hosts": "localhost,127.0.0.1"}}
    created = member.post(url(org), body, format="json")
    assert created.status_code == 201, created.content
    answer = created.json()
    assert set(answer["generated"]) == set(MATERIAL)
    assert answer["expiresAt"].startswith(str(datetime.now(UTC).year + 1))
    detail = f"{url(org)}/{answer['id']}"
    got = member.get(detail).json()
    assert got["values"]["caCert"] == answer["generated"]["caCert"]
    assert got["values"]["hosts"] == "localhost,127.0.0.1"
    assert [s["name"] for s in member.get(url(org) + "?type=tls").json()] == ["edge-tls"]
    masked = clients["viewer"].get(detail).json()["values"]
    assert masked == dict.fromkeys(got["values"], "<hidden>")
    again = member.put(detail, {"values": got["values"]}, format="json")
    assert again.status_code == 200 and again.json()["generated"] == {}
    assert member.delete(detail).status_code == 204
    assert_problem(member.get(detail), 404)


@pytest.mark.django_db
def test_tls_api_field_errors(vault, personas, clients):
    member, org = clients["member"], personas.org.pk

    def post(values: dict[str, str]) -> Any:
        return member.post(url(org), {"name": "t", "type": "tls", "values": values}, format="json")

    assert_problem(post({}), 400, field="values")
    assert_problem(post({"validity": "24h"}), 400, field="values.hosts")
    assert_problem(post({"hosts": "localhost", "bogus": "x"}), 400, field="values.bogus")
    body = assert_problem(
        post({"hosts": "localhost", "caCert": "junk"}), 400, field="values.caCert"
    )
    assert "junk" not in str(body)
    assert member.get(url(org)).json() == []
