"""The original product's types (cloudflare, digitalocean, fn, pagerduty, pkecert, slack,
vault, vsphere), GET /secret-types in the original's shape, and what ``required`` means there.

Field flags are checked against the original's table; generated PKE CAs are checked with the
real ``openssl``; every type is created and read back through the API with the real OpenBao.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import jsonschema
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ValidationError

from secrets_app.types import REGISTRY, Context
from secrets_app.types.pem import private_pem
from secrets_app.types.pkecert import CA_PAIRS
from secrets_app.types.tlsgen import generate_ca
from tests import original_reference
from tests.helpers import assert_problem

ORIGINAL_OPENAPI = original_reference.path("openapi")
NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
PKE = REGISTRY["pkecert"]
PKE_FIELDS = [name for pair in CA_PAIRS for name in pair[:2]] + ["saPub", "saKey"]
FINGERPRINT_SHA1 = ":".join(["AB"] * 20)
FINGERPRINT_SHA256 = "0f" * 32

# The original's table: type -> [(field, required, safe to display, opaque)], in its order.
ORIGINAL_FLAGS: dict[str, list[tuple[str, bool, bool, bool]]] = {
    "cloudflare": [("CF_API_KEY", True, False, True), ("CF_API_EMAIL", True, True, True)],
    "digitalocean": [("DO_TOKEN", True, True, True)],
    "fn": [("master_token", True, False, False)],
    "pagerduty": [("integrationKey", True, False, True)],
    "slack": [("apiUrl", True, True, True)],
    "vault": [("token", True, False, True)],
    "vsphere": [
        (name, True, name != "password", False)
        for name in (
            "url",
            "user",
            "password",
            "fingerprint",
            "datacenter",
            "datastore",
            "resourcePool",
            "folder",
            "defaultNodeTemplate",
        )
    ],
    "pkecert": [(name, False, False, False) for name in PKE_FIELDS],
}

# Values each type accepts; all made up.
GOOD: dict[str, dict[str, str]] = {
    "cloudflare": {"CF_API_KEY": "f" * 37, "CF_API_EMAIL": "dns@example.com"},
    "digitalocean": {"DO_TOKEN": "dop_v1_" + "a1" * 32},
    "fn": {"master_token": "fn-Master-Token_01"},
    "pagerduty": {"integrationKey": "R0" + "a9" * 15},
    "slack": {"apiUrl": "https://hooks.slack.com/services/T0001/B0002/abcdefghXYZ012345678"},
    "vault": {"token": "hvs.CAESIJ-made-up-token"},
    "vsphere": {
        "url": "https://vcenter.example.com/sdk",
        "user": "administrator@vsphere.local",
        "password": "Vmware1! secret",
        "fingerprint": FINGERPRINT_SHA1,
        "datacenter": "dc1",
        "datastore": "datastore1",
        "resourcePool": "/dc1/host/cluster1/Resources",
        "folder": "/dc1/vm/pke nodes",
        "defaultNodeTemplate": "ubuntu-22.04-template",
    },
}

# (type, field, bad value): each must be refused on that field without being quoted.
BAD: list[tuple[str, str, str]] = [
    ("cloudflare", "CF_API_EMAIL", "not-an-email-Qx81"),
    ("cloudflare", "CF_API_EMAIL", "two@@example.com"),
    ("cloudflare", "CF_API_KEY", "key with spaces Qx82"),
    ("digitalocean", "DO_TOKEN", "dop_v1_" + "a" * 63),
    ("digitalocean", "DO_TOKEN", "dop_v2_" + "a" * 64),
    ("digitalocean", "DO_TOKEN", "A" * 64),
    ("fn", "master_token", "line\nbreak-Qx83"),
    ("pagerduty", "integrationKey", "a" * 31),
    ("pagerduty", "integrationKey", "a" * 31 + "-"),
    ("slack", "apiUrl", "http://hooks.slack.com/services/T0001/B0002/abcdefghXYZ0"),
    ("slack", "apiUrl", "https://hooks.slack.com.evil.test/services/T0001/B0002/abcdefghX"),
    ("slack", "apiUrl", "https://hooks.slack.com/services/T0001/abcdefghXYZ0"),
    ("slack", "apiUrl", "https://example.com/services/T0001/B0002/abcdefghXYZ0"),
    ("vault", "token", "hvs.with space-Qx84"),
    ("vsphere", "url", "http://vc-qx89.example.com/sdk"),
    ("vsphere", "url", "https://admin:Qx85@vcenter.example.com/sdk"),
    ("vsphere", "url", "https://vc-qx88.example.com:99999/sdk"),
    ("vsphere", "url", "vc-qx87.example.com"),
    ("vsphere", "fingerprint", ":".join(["AB"] * 19)),
    ("vsphere", "fingerprint", "ZZ" + ":AB" * 19),
    ("vsphere", "fingerprint", "ab" * 21),
    ("vsphere", "datacenter", "dc\x00Qx86"),
    ("vsphere", "user", "u" * 1025),
]


def program(name: str) -> str:
    """The path of a required program; a missing one fails the test (never skips it)."""
    path = shutil.which(name)
    assert path, f"{name} is missing: run tools/install-test-deps.sh"
    return path


def openssl(*args: str | Path) -> str:
    done = subprocess.run(
        [program("openssl"), *map(str, args)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def errors_of(type_name: str, values: dict[str, str]) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        REGISTRY[type_name].clean(values, Context(verify_remote=True))
    return caught.value.message_dict


def url(org_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/secrets"


# --------------------------------------------------------------------------- flags


@pytest.mark.parametrize("type_name", sorted(ORIGINAL_FLAGS))
def test_fields_and_flags_are_the_originals(type_name):
    stype = REGISTRY[type_name]
    described = [(f.name, f.client_required, f.safe_to_display, f.opaque) for f in stype.fields]
    assert described == ORIGINAL_FLAGS[type_name]
    assert stype.strict and stype.sourcing in ("env", "volume")


def test_opaque_fields_stay_out_of_clusters():
    assert REGISTRY["cloudflare"].install_data(GOOD["cloudflare"]) == {}
    assert REGISTRY["slack"].install_data(GOOD["slack"]) == {}
    assert REGISTRY["fn"].install_data(GOOD["fn"]) == GOOD["fn"]
    assert REGISTRY["vsphere"].install_data(GOOD["vsphere"]) == GOOD["vsphere"]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("type_name", sorted(GOOD))
def test_good_values_are_kept_as_given(type_name):
    prepared = REGISTRY[type_name].clean(GOOD[type_name], Context())
    assert prepared.values == GOOD[type_name] and prepared.generated == {}


@pytest.mark.parametrize("type_name", sorted(GOOD))
def test_every_field_is_required(type_name):
    errors = errors_of(type_name, {})
    assert errors == {f"values.{name}": ["This field is required."] for name in GOOD[type_name]}


@pytest.mark.parametrize(("type_name", "field", "bad"), BAD, ids=lambda v: str(v)[:24])
def test_a_malformed_value_is_refused_on_its_field_without_being_quoted(type_name, field, bad):
    errors = errors_of(type_name, {**GOOD[type_name], field: bad})
    assert list(errors) == [f"values.{field}"]
    assert bad not in str(errors)


@pytest.mark.parametrize(
    "fingerprint",
    [FINGERPRINT_SHA1, FINGERPRINT_SHA1.lower(), FINGERPRINT_SHA256, ":".join(["9c"] * 32)],
)
def test_vsphere_takes_sha1_and_sha256_fingerprints(fingerprint):
    values = {**GOOD["vsphere"], "fingerprint": fingerprint}
    assert REGISTRY["vsphere"].clean(values, Context()).values["fingerprint"] == fingerprint


def test_tokens_of_other_known_shapes_are_accepted():
    for token in ("a0" * 32, "doo_v1_" + "b" * 64, "dor_v1_" + "c" * 64):
        assert REGISTRY["digitalocean"].clean({"DO_TOKEN": token}, Context())
    gov = "https://hooks.slack-gov.com/services/T0001/B0002/abcdefghXYZ012345678"
    assert REGISTRY["slack"].clean({"apiUrl": gov}, Context())
    # A development Vault's root token may be any word.
    assert REGISTRY["vault"].clean({"token": "root"}, Context())


def test_unknown_fields_are_refused():
    errors = errors_of("slack", {**GOOD["slack"], "channel": "#alerts"})
    assert list(errors) == ["values.channel"]


# --------------------------------------------------------------------------- pkecert


def write(tmp_path: Path, values: dict[str, str]) -> dict[str, Path]:
    paths = {}
    for name, text in values.items():
        paths[name] = tmp_path / f"{name}.pem"
        paths[name].write_text(text)
    return paths


def test_pkecert_generates_four_cas_and_a_service_account_pair(tmp_path):
    prepared = PKE.clean({}, Context(rng=Random(7), now=datetime.now(UTC)))
    stored = prepared.values
    assert set(stored) == set(PKE_FIELDS) and prepared.generated == stored
    paths = write(tmp_path, stored)
    moduli = set()
    for cert_name, key_name, common_name, _ in CA_PAIRS:
        cert = paths[cert_name]
        # A self-signed CA that openssl accepts as its own trust anchor.
        assert openssl("verify", "-CAfile", cert, cert).strip() == f"{cert}: OK"
        assert "CA:TRUE" in openssl("x509", "-in", cert, "-noout", "-ext", "basicConstraints")
        usage = openssl("x509", "-in", cert, "-noout", "-ext", "keyUsage")
        assert "Certificate Sign" in usage and "CRL Sign" in usage
        assert f"CN = {common_name}" in openssl("x509", "-in", cert, "-noout", "-subject")
        # The key is the certificate's.
        cert_pub = openssl("x509", "-in", cert, "-noout", "-pubkey")
        assert openssl("pkey", "-in", paths[key_name], "-pubout") == cert_pub
        moduli.add(cert_pub)
        loaded = x509.load_pem_x509_certificate(stored[cert_name].encode())
        assert loaded.not_valid_after_utc - loaded.not_valid_before_utc > timedelta(days=3649)
    assert len(moduli) == 4, "every CA has a key of its own"
    sa_pub = openssl("pkey", "-in", paths["saKey"], "-pubout")
    assert sa_pub == stored["saPub"]
    assert "Private-Key: (2048 bit" in openssl("pkey", "-in", paths["saKey"], "-noout", "-text")
    assert prepared.expires_at == min(
        x509.load_pem_x509_certificate(stored[c].encode()).not_valid_after_utc for c, *_ in CA_PAIRS
    )
    # What was made validates as stored, and nothing is made again.
    again = PKE.verify(stored, Context())
    assert again.values == stored and again.generated == {}


def ca_pair(common_name: str = "my-ca", *, now: datetime | None = None) -> tuple[str, str]:
    ctx = Context(now=now or datetime.now(UTC))
    return generate_ca(common_name, timedelta(days=30), "ecdsa-p256", ctx)


def test_pkecert_keeps_supplied_pairs_and_generates_the_rest():
    cert, key = ca_pair()
    sa = rsa.generate_private_key(65537, 2048)
    given = {"etcdCaCert": cert, "etcdCaKey": key, "saKey": private_pem(sa)}
    prepared = PKE.clean(given, Context())
    assert {k: prepared.values[k] for k in given} == given
    assert set(prepared.generated) == set(PKE_FIELDS) - set(given)
    derived = sa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert prepared.values["saPub"] == derived.decode()
    etcd_expiry = x509.load_pem_x509_certificate(cert.encode()).not_valid_after_utc
    assert prepared.expires_at == etcd_expiry


def leaf_pair() -> tuple[str, str]:
    """A certificate that is not a CA, with its key."""
    made = REGISTRY["tls"].clean({"hosts": "leaf.example.test"}, Context()).values
    return made["serverCert"], made["serverKey"]


def test_pkecert_refuses_unusable_pairs_without_quoting_them():
    cert, _ = ca_pair()
    other_cert, other_key = ca_pair("other")
    leaf_cert, leaf_key = leaf_pair()
    expired_cert, expired_key = ca_pair(now=datetime.now(UTC) - timedelta(days=60))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    values = {
        "caCert": cert,
        "caKey": other_key,  # not caCert's key
        "kubernetesCaCert": leaf_cert,  # not a CA
        "kubernetesCaKey": leaf_key,
        "etcdCaCert": expired_cert,
        "etcdCaKey": expired_key,
        "frontProxyCaCert": other_cert,  # without its key
        "saPub": "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n",
        "saKey": private_pem(ec_key),
    }
    errors = errors_of("pkecert", values)
    assert errors == {
        "values.caKey": ["Does not match caCert."],
        "values.kubernetesCaCert": ["Not a CA certificate (basicConstraints CA:true)."],
        "values.etcdCaCert": [errors["values.etcdCaCert"][0]],
        "values.frontProxyCaKey": ["Required with frontProxyCaCert (or leave both empty)."],
        "values.saPub": ["Not a PEM public key."],
    }
    assert errors["values.etcdCaCert"][0].startswith("The certificate expired on ")
    text = str(errors)
    assert "BEGIN" not in text and "not base64" not in text
    garbage = errors_of("pkecert", {"caCert": "garbage-Qx90", "caKey": "junk-Qx91"})
    assert garbage == {
        "values.caCert": ["Not a PEM certificate."],
        "values.caKey": ["Not a PEM private key."],
    }
    mismatched_sa = {
        "saKey": private_pem(rsa.generate_private_key(65537, 2048)),
        "saPub": private_pem_public(rsa.generate_private_key(65537, 2048)),
    }
    assert errors_of("pkecert", mismatched_sa) == {"values.saPub": ["Does not match saKey."]}
    assert errors_of("pkecert", {"saPub": mismatched_sa["saPub"]}) == {
        "values.saKey": ["Required with saPub (or leave both empty)."]
    }


def private_pem_public(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_pkecert_form_fields_are_optional_and_folded(personas):
    from tests.test_dashboard import signed_in

    html = (
        signed_in(personas, "admin")
        .get(f"/orgs/{personas.org.pk}/secrets/new/?type=pkecert")
        .content.decode()
    )
    assert "Nothing to fill in" in html and "Supply your own instead of generating (10" in html
    assert "(required)" not in html.split("Values of a")[1]
    for name in PKE_FIELDS:
        assert f'name="v_{name}"' in html


def test_vsphere_form_marks_every_field_required(personas):
    from tests.test_dashboard import scan, signed_in

    html = (
        signed_in(personas, "member")
        .get(f"/orgs/{personas.org.pk}/secrets/new/?type=vsphere")
        .content.decode()
    )
    inputs = scan(html).inputs
    for name in GOOD["vsphere"]:
        assert "required" in inputs[f"v_{name}"], name
    assert inputs["v_password"]["type"] == "password"
    assert inputs["v_url"]["type"] == "text"
    assert html.split("Values of a")[1].count("(required)") == 9


# --------------------------------------------------------------------------- through the API


@pytest.mark.django_db
@pytest.mark.parametrize("type_name", sorted(GOOD))
def test_each_type_is_created_and_read_back(vault, personas, clients, type_name):
    member, org = clients["member"], personas.org.pk
    body = {"name": f"{type_name}-creds", "type": type_name, "values": GOOD[type_name]}
    created = member.post(url(org), body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["generated"] == {}
    detail = f"{url(org)}/{created.json()['id']}"
    assert member.get(detail).json()["values"] == GOOD[type_name]
    masked = clients["viewer"].get(detail).json()["values"]
    assert masked == dict.fromkeys(GOOD[type_name], "<hidden>")
    listed = member.get(url(org) + f"?type={type_name}").json()
    assert [s["name"] for s in listed] == [f"{type_name}-creds"]


@pytest.mark.django_db
def test_bad_value_is_a_400_naming_the_field(vault, personas, clients):
    bad = "https://hooks.example.test/services/T1/B2/secretQx99"
    body = {"name": "alerts", "type": "slack", "values": {"apiUrl": bad}}
    response = clients["member"].post(url(personas.org.pk), body, format="json")
    problem = assert_problem(response, 400, field="values.apiUrl")
    assert "secretQx99" not in str(problem)
    assert clients["member"].get(url(personas.org.pk)).json() == []


@pytest.mark.django_db
def test_pkecert_through_the_api_is_for_admins(vault, personas, clients, tmp_path):
    org = personas.org.pk
    body = {"name": "pke-certs", "type": "pkecert", "values": {}}
    assert_problem(clients["member"].post(url(org), body, format="json"), 403)
    created = clients["admin"].post(url(org), body, format="json")
    assert created.status_code == 201, created.content
    generated = created.json()["generated"]
    assert set(generated) == set(PKE_FIELDS)
    detail = f"{url(org)}/{created.json()['id']}"
    stored = clients["admin"].get(detail).json()["values"]
    assert stored == generated
    paths = write(tmp_path, stored)
    assert openssl("verify", "-CAfile", paths["caCert"], paths["caCert"]).endswith(": OK\n")
    # Members see the metadata only, as with cluster credentials.
    assert clients["member"].get(detail).json()["values"] == dict.fromkeys(stored, "<hidden>")
    again = clients["admin"].put(detail, {"values": stored}, format="json")
    assert again.status_code == 200 and again.json()["generated"] == {}
    validated = clients["admin"].get(detail + "/validate").json()
    assert validated["valid"] is True


# --------------------------------------------------------------------------- GET /secret-types


def original_type_schema() -> dict[str, Any]:
    document = yaml.safe_load(ORIGINAL_OPENAPI.read_text())
    schema: dict[str, Any] = document["components"]["schemas"]["SecretTypeResponse"]
    return schema


@pytest.mark.original_reference("openapi")
@pytest.mark.django_db
def test_secret_types_answer_the_originals_shape(personas, clients):
    answer = clients["viewer"].get("/api/v1/secret-types")
    assert answer.status_code == 200
    types = answer.json()
    assert isinstance(types, dict) and list(types) == list(REGISTRY)
    assert set(ORIGINAL_FLAGS) <= set(types)
    schema = original_type_schema()
    for name, described in types.items():
        jsonschema.validate(described, schema)
        assert described["name"] == name
        for field in described["fields"]:
            assert {"name", "required", "isSafeToDisplay", "description", "opaque"} <= set(field)
            assert "safeToDisplay" not in field
        assert described == clients["viewer"].get(f"/api/v1/secret-types/{name}").json()
    for type_name, flags in ORIGINAL_FLAGS.items():
        got = [
            (f["name"], f["required"], f["isSafeToDisplay"], f["opaque"])
            for f in types[type_name]["fields"]
        ]
        assert got == flags, type_name
    assert types["pkecert"]["valuesRole"] == "admin" and types["fn"]["valuesRole"] == "member"
    assert types["tls"]["kubernetesType"] == "kubernetes.io/tls"
    assert types["vault"]["kubernetesType"] is None
    assert_problem(clients["viewer"].get("/api/v1/secret-types/bogus"), 404)


@pytest.mark.django_db
def test_required_means_a_client_must_send_it(vault, personas, clients):
    types = clients["member"].get("/api/v1/secret-types").json()
    fields = {
        (name, f["name"]): f for name, described in types.items() for f in described["fields"]
    }
    # Generated when left out: not required, and said to be generatable.
    for key in [
        ("password", "password"),
        ("htpasswd", "htpasswd"),
        ("htpasswd", "password"),
        ("tls", "caCert"),
        ("ssh", "private_key_data"),
        ("pkecert", "caKey"),
    ]:
        assert not fields[key]["required"] and fields[key]["generatable"], key
    for key in [("password", "username"), ("htpasswd", "username"), ("tls", "hosts")]:
        assert fields[key]["required"] and not fields[key]["generatable"], key
    # Every type can be created from its required fields alone; leaving one out is a 400.
    org = personas.org.pk
    samples = {
        "username": "app",
        "hosts": "app.example.test",
        **{k: v for values in GOOD.values() for k, v in values.items()},
    }
    for name in ("password", "htpasswd", "tls", "ssh", "slack", "vsphere"):
        needed = [f["name"] for f in types[name]["fields"] if f["required"]]
        values = {k: samples[k] for k in needed}
        body = {"name": f"only-required-{name}", "type": name, "values": values}
        created = clients["member"].post(url(org), body, format="json")
        assert created.status_code == 201, (name, created.content)
    for name, values, field in [
        ("password", {"password": "given-pass"}, "username"),
        ("tls", {"validity": "24h"}, "hosts"),
        ("vsphere", {k: v for k, v in GOOD["vsphere"].items() if k != "url"}, "url"),
    ]:
        body = {"name": f"missing-{name}", "type": name, "values": values}
        missing = clients["member"].post(url(org), body, format="json")
        assert_problem(missing, 400, field=f"values.{field}")


# --------------------------------------------------------------------------- htpasswd


HTPASSWD = REGISTRY["htpasswd"]


def test_htpasswd_keeps_the_generated_password_and_installs_only_the_line():
    prepared = HTPASSWD.clean({"username": "web"}, Context(rng=Random(1)))
    stored = prepared.values
    assert set(stored) == {"username", "password", "htpasswd"}
    assert prepared.generated == {"password": stored["password"]}
    assert HTPASSWD.install_data(stored) == {"htpasswd": stored["htpasswd"]}
    assert HTPASSWD.verify(stored, Context()).values == stored


def test_htpasswd_line_follows_username_and_password_changes():
    stored = HTPASSWD.clean({"username": "web", "password": "first-pass"}, Context()).values
    assert stored["password"] == "first-pass"
    # Unchanged values keep the line (no new salt for nothing).
    assert HTPASSWD.clean(dict(stored), Context()).values["htpasswd"] == stored["htpasswd"]
    changed = HTPASSWD.clean({**stored, "password": "second-pass"}, Context()).values
    assert changed["htpasswd"] != stored["htpasswd"] and changed["password"] == "second-pass"
    renamed = HTPASSWD.clean({**stored, "username": "ops"}, Context()).values
    assert renamed["htpasswd"].startswith("ops:$2y$10$")
    # A stored line that does not take the stored password is reported, without values.
    tampered = {**stored, "htpasswd": changed["htpasswd"]}
    with pytest.raises(ValidationError) as caught:
        HTPASSWD.verify(tampered, Context())
    assert caught.value.message_dict == {"values.htpasswd": ["Does not match the stored password."]}


def test_htpasswd_line_alone_is_kept_without_a_password():
    line = HTPASSWD.clean({"username": "u", "password": "pw"}, Context()).values["htpasswd"]
    prepared = HTPASSWD.clean({"username": "u", "htpasswd": line}, Context())
    assert prepared.values == {"username": "u", "htpasswd": line}


def test_htpasswd_refuses_a_password_longer_than_bcrypt_reads():
    errors = errors_of("htpasswd", {"username": "u", "password": "x" * 73})
    assert list(errors) == ["values.password"] and "x" * 10 not in str(errors)
    errors = errors_of("htpasswd", {"username": "u", "password": "randAlphaNum,100"})
    assert list(errors) == ["values.password"]
    assert HTPASSWD.clean({"username": "u", "password": "x" * 72}, Context())


@pytest.mark.django_db
def test_htpasswd_password_is_readable_after_create_and_kept_on_update(vault, personas, clients):
    member, org = clients["member"], personas.org.pk
    body = {"name": "grafana-auth", "type": "htpasswd", "values": {"username": "admin"}}
    created = member.post(url(org), body, format="json")
    assert created.status_code == 201, created.content
    detail = f"{url(org)}/{created.json()['id']}"
    values = member.get(detail).json()["values"]
    assert values["password"] == created.json()["generated"]["password"]
    updated = member.put(detail, {"values": values, "tags": ["team:obs"]}, format="json")
    assert updated.status_code == 200 and updated.json()["generated"] == {}
    assert member.get(detail).json()["values"] == values
