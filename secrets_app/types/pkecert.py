"""pkecert: the certificate authorities of a PKE cluster and its service-account key pair.

Each pair left empty is generated: four self-signed CAs (RSA 2048, ten years, as kubeadm
makes them) and an RSA key pair that signs service-account tokens. A supplied pair is
validated, never trusted: the certificate must parse, be a CA within its validity and match
its key; ``saPub`` must be the public half of ``saKey`` (derived from it when left out).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ValidationError

from secrets_app.types.base import Context, Field, Prepared, SecretType
from secrets_app.types.pem import key_matches, load_certificate, load_private_key, private_pem
from secrets_app.types.tls import check_dates, is_ca
from secrets_app.types.tlsgen import generate_ca

CA_VALIDITY = timedelta(days=3650)
CA_KEY_TYPE = "rsa-2048"
SA_KEY_BITS = 2048
# (certificate field, key field, common name of a generated CA, what the CA is for)
CA_PAIRS = (
    ("caCert", "caKey", "pke-ca", "The cluster's root CA"),
    ("kubernetesCaCert", "kubernetesCaKey", "kubernetes-ca", "The Kubernetes CA"),
    ("etcdCaCert", "etcdCaKey", "etcd-ca", "The etcd CA"),
    ("frontProxyCaCert", "frontProxyCaKey", "front-proxy-ca", "The front proxy CA"),
)
SA_PUB, SA_KEY = "saPub", "saKey"
CERT_FIELDS = tuple(pair[0] for pair in CA_PAIRS)


def _ca_fields() -> tuple[Field, ...]:
    made = "generated when the pair is left empty"
    fields: list[Field] = []
    for cert_name, key_name, _, purpose in CA_PAIRS:
        fields.append(
            Field(
                cert_name,
                required=True,
                generatable=True,
                public=True,
                description=f"{purpose}: its certificate (PEM), {made}.",
            )
        )
        fields.append(
            Field(
                key_name,
                required=True,
                generatable=True,
                description=f"{purpose}: its private key (PEM), {made}.",
            )
        )
    return tuple(fields)


def public_pem(key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def check_ca_pair(
    values: dict[str, str], cert_name: str, key_name: str, now: datetime
) -> dict[str, str]:
    """Field errors of one supplied CA pair (empty when it is a usable CA and its key)."""
    errors: dict[str, str] = {}
    cert = load_certificate(values[cert_name])
    if cert is None:
        errors[f"values.{cert_name}"] = "Not a PEM certificate."
    elif not is_ca(cert):
        errors[f"values.{cert_name}"] = "Not a CA certificate (basicConstraints CA:true)."
    elif problem := check_dates(cert, now):
        errors[f"values.{cert_name}"] = problem
    key, reason = load_private_key(values[key_name])
    if key is None:
        errors[f"values.{key_name}"] = reason
    elif cert is not None and not key_matches(key, cert.public_key()):
        errors[f"values.{key_name}"] = f"Does not match {cert_name}."
    return errors


def check_sa_pair(values: dict[str, str]) -> tuple[dict[str, str], str]:
    """Field errors of a supplied service-account pair, and ``saPub`` as it is to be stored
    (derived from ``saKey`` when not given)."""
    key, reason = load_private_key(values[SA_KEY])
    if key is None:
        return {f"values.{SA_KEY}": reason}, ""
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return {f"values.{SA_KEY}": "Must be an RSA or ECDSA key, as Kubernetes signs with."}, ""
    derived = public_pem(key.public_key())
    if not values.get(SA_PUB):
        return {}, derived
    try:
        given = serialization.load_pem_public_key(values[SA_PUB].encode())
    except (ValueError, TypeError):
        return {f"values.{SA_PUB}": "Not a PEM public key."}, ""
    if not key_matches(key, given):
        return {f"values.{SA_PUB}": f"Does not match {SA_KEY}."}, ""
    return {}, values[SA_PUB]


class PkeCertType(SecretType):
    name = "pkecert"
    description = (
        "The CAs of a PKE Kubernetes cluster (cluster, Kubernetes, etcd, front proxy) and its "
        "service-account key pair; each pair is generated when left empty."
    )
    sourcing = "volume"
    # A CA key mints cluster credentials: like a kubeconfig, only admins read or change it.
    values_role = "admin"
    fields = (
        *_ca_fields(),
        Field(
            SA_PUB,
            required=True,
            generatable=True,
            public=True,
            description="Service-account token verification key (PEM public key), derived "
            "from saKey when left empty.",
        ),
        Field(
            SA_KEY,
            required=True,
            generatable=True,
            description="Service-account token signing private key (PEM), generated with "
            "saPub when both are empty.",
        ),
    )

    def prepare(self, values: dict[str, str], ctx: Context) -> Prepared:
        errors: dict[str, str] = {}
        stored = dict(values)
        made: dict[str, str] = {}
        for cert_name, key_name, common_name, _ in CA_PAIRS:
            cert, key = values.get(cert_name), values.get(key_name)
            if cert and key:
                errors.update(check_ca_pair(values, cert_name, key_name, ctx.now))
            elif cert or key:
                missing, other = (key_name, cert_name) if cert else (cert_name, key_name)
                errors[f"values.{missing}"] = f"Required with {other} (or leave both empty)."
            else:
                made[cert_name], made[key_name] = generate_ca(
                    common_name, CA_VALIDITY, CA_KEY_TYPE, ctx
                )
        if values.get(SA_KEY):
            sa_errors, sa_pub = check_sa_pair(values)
            errors.update(sa_errors)
            if sa_pub and sa_pub != values.get(SA_PUB):
                made[SA_PUB] = sa_pub
        elif values.get(SA_PUB):
            errors[f"values.{SA_KEY}"] = f"Required with {SA_PUB} (or leave both empty)."
        else:
            sa_key = rsa.generate_private_key(65537, SA_KEY_BITS)
            made[SA_KEY] = private_pem(sa_key)
            made[SA_PUB] = public_pem(sa_key.public_key())
        if errors:
            raise ValidationError(errors)
        stored.update(made)
        return Prepared(values=stored, generated=made, expires_at=self.expiry(stored))

    rotatable = True

    def rotate(self, values: dict[str, str], ctx: Context) -> Prepared:
        """Four new CAs and a new service-account key pair, made as a create makes them."""
        return self.prepare({}, ctx)

    def verify(self, values: dict[str, str], ctx: Context) -> Prepared:
        checked = self._check_shape(values)
        self._check_required(checked, include_generatable=True)
        return self.prepare(checked, ctx)

    def expiry(self, values: dict[str, str]) -> datetime | None:
        found = []
        for name in CERT_FIELDS:
            try:
                cert = x509.load_pem_x509_certificate((values.get(name) or "").encode())
            except ValueError:
                continue
            found.append(cert.not_valid_after_utc)
        return min(found, default=None)


TYPE = PkeCertType()
