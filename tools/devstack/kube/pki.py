"""The control plane's PKI: a throw-away CA, the API server's serving certificate, the
service-account signing key and client certificates (admin and restricted users).

Layout of a PKI folder (every file mode 0600, the folder 0700)::

    ca.crt ca.key                  the CA; kept across restarts when reused
    service-account.key .pub       signs service-account tokens; kept when reused
    apiserver.crt apiserver.key    kube-apiserver's serving certificate; always fresh
    admin.crt admin.key            a cluster admin (O=system:masters); always fresh
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tools.devstack.kube.errors import ControlPlaneError
from tools.devstack.proc import write_private

SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
# The first address of the service range: the in-cluster `kubernetes` service.
KUBERNETES_SERVICE_IP = "10.0.0.1"
APISERVER_DNS_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
CERT_VALIDITY = datetime.timedelta(days=365)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _new_ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: Any) -> bytes:
    """A private key as unencrypted PKCS#8 PEM."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """Digital signatures, plus certificate and CRL signing for a CA."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


class CertificateAuthority:
    """A throw-away CA that signs the API server's serving cert and all client certs."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self.key = key
        self.cert = cert

    @classmethod
    def create(cls, common_name: str = "pipeline-secrets-local-ca") -> CertificateAuthority:
        key = _new_ec_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + 10 * CERT_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> CertificateAuthority:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ControlPlaneError(f"{key_path} is not an EC key")
        return cls(key, cert)

    @property
    def cert_pem(self) -> bytes:
        return _cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes:
        return key_pem(self.key)

    def issue(
        self,
        common_name: str,
        *,
        organizations: Sequence[str] = (),
        dns_names: Sequence[str] = (),
        ip_addresses: Sequence[str] = (),
        server: bool = False,
        client: bool = False,
    ) -> tuple[bytes, bytes]:
        """Signs a new leaf certificate; returns (cert_pem, key_pem)."""
        key = _new_ec_key()
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        usages = []
        if server:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        if client:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        now = _now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attrs))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + CERT_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return _cert_pem(cert), key_pem(key)


@dataclass(frozen=True)
class ClusterPKI:
    """The CA and the admin client certificate of one control plane."""

    ca: CertificateAuthority
    admin_cert_pem: bytes
    admin_key_pem: bytes

    @classmethod
    def prepare(cls, pki_dir: Path, *, reuse: bool) -> ClusterPKI:
        """Writes the PKI folder (see the module docstring). With ``reuse`` an existing CA
        and service-account key are kept, so kubeconfigs handed out earlier stay valid."""
        pki_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(pki_dir, 0o700)
        ca_crt, ca_key = pki_dir / "ca.crt", pki_dir / "ca.key"
        sa_key, sa_pub = pki_dir / "service-account.key", pki_dir / "service-account.pub"
        if reuse and ca_crt.exists() and ca_key.exists():
            ca = CertificateAuthority.load(ca_crt, ca_key)
        else:
            ca = CertificateAuthority.create()
            write_private(ca_crt, ca.cert_pem)
            write_private(ca_key, ca.key_pem)
        if not (reuse and sa_key.exists() and sa_pub.exists()):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            write_private(sa_key, key_pem(key))
            write_private(
                sa_pub,
                key.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                ),
            )
        # Leaf certificates are always fresh; they are cheap.
        cert, serving_key = ca.issue(
            "kube-apiserver",
            dns_names=APISERVER_DNS_NAMES,
            ip_addresses=("127.0.0.1", KUBERNETES_SERVICE_IP),
            server=True,
        )
        write_private(pki_dir / "apiserver.crt", cert)
        write_private(pki_dir / "apiserver.key", serving_key)
        admin_cert, admin_key = ca.issue("admin", organizations=("system:masters",), client=True)
        write_private(pki_dir / "admin.crt", admin_cert)
        write_private(pki_dir / "admin.key", admin_key)
        return cls(ca, admin_cert, admin_key)

    @classmethod
    def load(cls, pki_dir: Path) -> ClusterPKI:
        """The PKI a running control plane wrote to ``pki_dir``."""
        return cls(
            CertificateAuthority.load(pki_dir / "ca.crt", pki_dir / "ca.key"),
            (pki_dir / "admin.crt").read_bytes(),
            (pki_dir / "admin.key").read_bytes(),
        )
