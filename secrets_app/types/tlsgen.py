"""Making the tls type's certificates: a self-signed CA and leaves it signs.

Keys come from the operating system's generator (cryptography gives no other choice);
serials come from ``ctx.rng`` so tests can pin them.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from secrets_app.types.base import Context
from secrets_app.types.pem import certificate_pem, private_pem

Host = ipaddress.IPv4Address | ipaddress.IPv6Address | str

KEY_TYPES = ("rsa-2048", "rsa-4096", "ecdsa-p256")
# Backdated so a verifier whose clock is slightly behind ours accepts a fresh certificate.
BACKDATE = timedelta(minutes=1)
CA_NAME = "Pipeline Secrets CA"


def _san(hosts: list[Host]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = [
        x509.DNSName(h) if isinstance(h, str) else x509.IPAddress(h) for h in hosts
    ]
    return x509.SubjectAlternativeName(names)


def _new_key(key_type: str) -> CertificateIssuerPrivateKeyTypes:
    if key_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(65537, 4096 if key_type == "rsa-4096" else 2048)


def _name(common_name: str) -> x509.Name:
    # A CN is limited to 64 characters; the SANs are what verifiers read anyway.
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])


def _cert(
    *,
    subject: x509.Name,
    key: CertificateIssuerPrivateKeyTypes,
    issuer: x509.Certificate | None,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    usages: list[x509.ObjectIdentifier] | None,
    hosts: list[Host] | None,
    window: tuple[datetime, datetime],
    ctx: Context,
) -> x509.Certificate:
    """A certificate for ``key``: a CA when ``usages`` is None, else a leaf with those EKUs."""
    is_ca = usages is None
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(public)
        .serial_number(ctx.rng.getrandbits(128) or 1)  # positive, as RFC 5280 requires
        .not_valid_before(window[0])
        .not_valid_after(window[1])
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not is_ca,
                # Key encipherment means RSA key transport; it is invalid for EC keys.
                key_encipherment=not is_ca and isinstance(key, rsa.RSAPrivateKey),
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if hosts:
        builder = builder.add_extension(_san(hosts), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def generate(hosts: list[Host], validity: timedelta, key_type: str, ctx: Context) -> dict[str, str]:
    """A fresh CA and server, client and peer certificates, each with its own key, as PEM."""
    window = (ctx.now - BACKDATE, ctx.now + validity)
    ca_key = _new_key(key_type)
    ca = _cert(
        subject=_name(CA_NAME),
        key=ca_key,
        issuer=None,
        issuer_key=ca_key,
        usages=None,
        hosts=None,
        window=window,
        ctx=ctx,
    )
    out = {"caCert": certificate_pem(ca), "caKey": private_pem(ca_key)}
    out.update(issue_leaves(ca, ca_key, hosts, window, key_type, ctx))
    return out


LEAVES = ("server", "client", "peer")


def issue_leaves(
    ca: x509.Certificate,
    ca_key: CertificateIssuerPrivateKeyTypes,
    hosts: list[Host],
    window: tuple[datetime, datetime],
    key_type: str,
    ctx: Context,
    prefixes: tuple[str, ...] = LEAVES,
) -> dict[str, str]:
    """Server, client and peer certificates (those in ``prefixes``) signed by ``ca``, each
    with a new key of ``key_type``, valid over ``window``, as PEM ``<prefix>Cert``/``Key``."""
    first = str(hosts[0])
    server, client = ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH
    leaves = {
        "server": ([server], hosts, first),
        "client": ([client], None, "client"),
        "peer": ([server, client], hosts, first),
    }
    out: dict[str, str] = {}
    for prefix in prefixes:
        usages, sans, common_name = leaves[prefix]
        key = _new_key(key_type)
        cert = _cert(
            subject=_name(common_name),
            key=key,
            issuer=ca,
            issuer_key=ca_key,
            usages=usages,
            hosts=sans,
            window=window,
            ctx=ctx,
        )
        out[f"{prefix}Cert"] = certificate_pem(cert)
        out[f"{prefix}Key"] = private_pem(key)
    return out


def key_type_of(key: object) -> str | None:
    """The ``KEY_TYPES`` name of a private key, or None for a kind we do not generate."""
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size in (2048, 4096):
        return f"rsa-{key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return "ecdsa-p256"
    return None


def generate_ca(
    common_name: str, validity: timedelta, key_type: str, ctx: Context
) -> tuple[str, str]:
    """A fresh self-signed CA named ``common_name``: (certificate PEM, private key PEM)."""
    key = _new_key(key_type)
    ca = _cert(
        subject=_name(common_name),
        key=key,
        issuer=None,
        issuer_key=key,
        usages=None,
        hosts=None,
        window=(ctx.now - BACKDATE, ctx.now + validity),
        ctx=ctx,
    )
    return certificate_pem(ca), private_pem(key)
