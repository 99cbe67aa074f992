"""tls: a CA with server, client and peer certificates, generated from ``hosts`` or supplied.

Given only ``hosts`` (and optionally ``validity``/``keyType``), a self-signed CA and three
leaves signed by it are made. Supplied certificates are validated, never trusted: each must
parse, match its key, be issued by ``caCert``, be within its validity, and the server
certificate must name every host.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar, cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from django.core.exceptions import ValidationError

from secrets_app.types.base import Context, Field, Prepared, SecretType
from secrets_app.types.durations import parse_duration
from secrets_app.types.pem import certificate_pem, key_matches, load_certificate, load_private_key
from secrets_app.types.tlsgen import (
    BACKDATE,
    KEY_TYPES,
    LEAVES,
    Host,
    generate,
    issue_leaves,
    key_type_of,
)

DEFAULT_KEY_TYPE = "rsa-2048"
DEFAULT_VALIDITY = "8760h"
# What a form offers: a month, three months, a year, two years, five years.
VALIDITY_CHOICES = ("720h", "2160h", "8760h", "17520h", "43800h")
MAX_VALIDITY = timedelta(days=100 * 365)
# The shortest validity a renewal gives certificates supplied without a ``validity``.
MIN_RENEWED_VALIDITY = timedelta(hours=1)
# Tolerated skew when judging a supplied certificate "not valid yet".
SKEW = timedelta(minutes=5)
PAIRS = (
    ("caCert", "caKey"),
    ("serverCert", "serverKey"),
    ("clientCert", "clientKey"),
    ("peerCert", "peerKey"),
)
MATERIAL = tuple(name for pair in PAIRS for name in pair)
# Needed whenever certificates are supplied; client and peer pairs are optional then.
REQUIRED_SUPPLIED = ("caCert", "serverCert", "serverKey")
_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
DNS_RE = re.compile(rf"^(?:\*\.)?(?:{_LABEL}\.)*{_LABEL}$", re.IGNORECASE)
T = TypeVar("T")


def parse_hosts(text: str) -> list[Host]:
    """The comma-separated hosts as IP addresses and lower-cased DNS names (wildcards kept)."""
    hosts: list[Host] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        try:
            hosts.append(ipaddress.ip_address(item.strip("[]")))
            continue
        except ValueError:
            pass
        if len(item) > 253 or not DNS_RE.fullmatch(item):
            raise ValidationError(
                {"values.hosts": "Each host must be an IP address or a DNS name (*.name allowed)."}
            )
        hosts.append(item.lower().rstrip("."))
    if not hosts:
        raise ValidationError({"values.hosts": "Give at least one host name or IP address."})
    return hosts


def parse_validity(text: str) -> timedelta:
    try:
        validity = parse_duration(text)
    except ValueError:
        raise ValidationError(
            {"values.validity": "Must be a positive Go-style duration such as 8760h or 720h30m."}
        ) from None
    if validity > MAX_VALIDITY:
        raise ValidationError({"values.validity": "Must be at most 100 years (876000h)."})
    return validity


def collect(errors: dict[str, list[str]], check: Callable[[], T]) -> T | None:
    """The result of ``check``, or None with its field errors added to ``errors``."""
    try:
        return check()
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
        return None


def _covers(cert: x509.Certificate, host: Host) -> bool:
    """Whether the certificate's SANs name ``host`` (one wildcard label, as TLS clients do)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    if not isinstance(host, str):
        return host in san.get_values_for_type(x509.IPAddress)
    for name in (n.lower().rstrip(".") for n in san.get_values_for_type(x509.DNSName)):
        if name == host:
            return True
        if name.startswith("*.") and not host.startswith("*."):
            label, _, rest = host.partition(".")
            if label and rest == name[2:]:
                return True
    return False


def check_dates(cert: x509.Certificate, now: datetime) -> str | None:
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    if cert.not_valid_after_utc <= now:
        return f"The certificate expired on {cert.not_valid_after_utc.strftime(stamp)}."
    if cert.not_valid_before_utc > now + SKEW:
        return f"The certificate is not valid before {cert.not_valid_before_utc.strftime(stamp)}."
    return None


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def missing_supplied(values: dict[str, str]) -> dict[str, str]:
    """Errors of the values required when certificates are supplied, and of a certificate or
    key given without its partner."""
    errors: dict[str, str] = {}
    for name in REQUIRED_SUPPLIED:
        if not values.get(name):
            errors[f"values.{name}"] = (
                "Required when certificates are supplied (give only hosts to generate them)."
            )
    for cert_name, key_name in PAIRS[2:]:
        if values.get(cert_name) and not values.get(key_name):
            errors[f"values.{key_name}"] = f"Required with {cert_name}."
        if values.get(key_name) and not values.get(cert_name):
            errors[f"values.{cert_name}"] = f"Required with {key_name}."
    return errors


def load_supplied(
    values: dict[str, str], now: datetime, errors: dict[str, str]
) -> dict[str, x509.Certificate]:
    """The supplied certificates that parse, by field; adds to ``errors`` a certificate that
    does not parse or is out of date, and a key that does not load or match its certificate."""
    certs: dict[str, x509.Certificate] = {}
    for cert_name, key_name in PAIRS:
        if values.get(cert_name):
            cert = load_certificate(values[cert_name])
            if cert is None:
                errors[f"values.{cert_name}"] = "Not a PEM certificate."
                continue
            certs[cert_name] = cert
            problem = check_dates(cert, now)
            if problem:
                errors[f"values.{cert_name}"] = problem
        if values.get(key_name):
            key, reason = load_private_key(values[key_name])
            if key is None:
                errors[f"values.{key_name}"] = reason
            elif cert_name in certs and not key_matches(key, certs[cert_name].public_key()):
                errors[f"values.{key_name}"] = f"Does not match {cert_name}."
    return certs


def check_chain(
    certs: dict[str, x509.Certificate], hosts: list[Host], errors: dict[str, str]
) -> None:
    """Adds to ``errors`` (unless a field has one already) a CA that is none, a leaf it did
    not sign, and hosts the server certificate does not cover."""
    ca = certs.get("caCert")
    if ca is not None and not is_ca(ca):
        errors.setdefault("values.caCert", "Not a CA certificate (basicConstraints CA:true).")
    for cert_name in ("serverCert", "clientCert", "peerCert"):
        leaf = certs.get(cert_name)
        if leaf is None or ca is None:
            continue
        try:
            leaf.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):
            errors.setdefault(f"values.{cert_name}", "Not signed by caCert.")
    if "serverCert" in certs:
        uncovered = [str(h) for h in hosts if not _covers(certs["serverCert"], h)]
        if uncovered:
            errors.setdefault(
                "values.serverCert",
                f"Its subjectAltNames do not cover: {', '.join(uncovered)}.",
            )


def validate_supplied(values: dict[str, str], hosts: list[Host], now: datetime) -> datetime:
    """Check supplied certificates and keys; the earliest expiry when all is well."""
    errors = missing_supplied(values)
    certs = load_supplied(values, now, errors)
    check_chain(certs, hosts, errors)
    if errors:
        raise ValidationError(errors)
    return min(c.not_valid_after_utc for c in certs.values())


def certificates(pem: str) -> list[x509.Certificate]:
    """Every certificate of a PEM text (a CA bundle), in order; empty when none parses."""
    try:
        return x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        return []


def renew_point(cert: x509.Certificate, window: timedelta) -> datetime:
    """When ``cert`` enters its renewal window: ``window`` before it expires, or a third of
    its validity before for a certificate valid for less than three windows."""
    span = cert.not_valid_after_utc - cert.not_valid_before_utc
    return cert.not_valid_after_utc - min(window, span / 3)


def bundle(certs: list[x509.Certificate]) -> str:
    return "".join(certificate_pem(c) for c in certs)


class TlsType(SecretType):
    name = "tls"
    description = (
        "A CA and server, client and peer certificates with keys; generated from hosts, "
        "or supplied and validated."
    )
    sourcing = "volume"
    kubernetes_type = "kubernetes.io/tls"
    fields = (
        Field(
            "hosts",
            required=True,
            safe_to_display=True,
            description="Comma-separated DNS names (wildcards allowed) and IP addresses.",
        ),
        Field(
            "validity",
            safe_to_display=True,
            description=f"Go-style duration of generated certificates, default {DEFAULT_VALIDITY}.",
            choices=VALIDITY_CHOICES,
        ),
        Field(
            "keyType",
            safe_to_display=True,
            description=f"Generated key type: {', '.join(KEY_TYPES)} (default {DEFAULT_KEY_TYPE}).",
            choices=KEY_TYPES,
        ),
        Field("caCert", generatable=True, public=True, description="The CA certificate (PEM)."),
        # Opaque: the CA's key signs renewals here and is never written into a cluster, where
        # anyone reading the Secret could mint certificates the CA vouches for.
        Field(
            "caKey",
            generatable=True,
            opaque=True,
            description="The CA private key (PEM); kept here, not installed into clusters.",
        ),
        Field(
            "serverCert",
            generatable=True,
            public=True,
            description="Server certificate (serverAuth).",
        ),
        Field("serverKey", generatable=True, description="The server private key (PEM)."),
        Field(
            "clientCert",
            generatable=True,
            public=True,
            description="Client certificate (clientAuth).",
        ),
        Field("clientKey", generatable=True, description="The client private key (PEM)."),
        Field(
            "peerCert", generatable=True, public=True, description="Peer certificate (both usages)."
        ),
        Field("peerKey", generatable=True, description="The peer private key (PEM)."),
    )

    def prepare(self, values: dict[str, str], ctx: Context) -> Prepared:
        # Every field is checked before anything is reported, so one answer names them all.
        errors: dict[str, list[str]] = {}
        hosts = collect(errors, lambda: parse_hosts(values["hosts"])) or []
        validity = collect(
            errors, lambda: parse_validity(values.get("validity") or DEFAULT_VALIDITY)
        )
        key_type = values.get("keyType") or DEFAULT_KEY_TYPE
        if key_type not in KEY_TYPES:
            errors["values.keyType"] = [f"Must be one of {', '.join(KEY_TYPES)}."]
        if any(values.get(name) for name in MATERIAL):
            expires_at = collect(errors, lambda: validate_supplied(values, hosts, ctx.now))
            if errors or expires_at is None:
                raise ValidationError(errors)
            return Prepared(values=values, expires_at=expires_at)
        if errors or validity is None:
            raise ValidationError(errors)
        made = generate(hosts, validity, key_type, ctx)
        stored = {
            "hosts": values["hosts"],
            "validity": values.get("validity") or DEFAULT_VALIDITY,
            "keyType": key_type,
            **made,
        }
        # Every generated certificate shares the CA's window; read it back as encoded
        # (whole seconds) so the index agrees with what a later verify computes.
        expires_at = x509.load_pem_x509_certificate(made["caCert"].encode()).not_valid_after_utc
        return Prepared(values=stored, generated=made, expires_at=expires_at)

    # Renewal. ``caCert`` may be a bundle: the CA that signs the leaves first, then the CAs it
    # replaced, kept while they are valid so that anything still presenting a certificate of
    # the old CA is trusted during the transition (installed as ``ca.crt``).

    rotatable = True
    renewable = True

    def renewal_due(self, values: dict[str, str], window: timedelta) -> datetime | None:
        """The earliest of: a certificate (CA or leaf) entering its renewal window, a CA kept
        for the transition expiring (it is then dropped). None without the CA key."""
        cas = certificates(values.get("caCert") or "")
        if not cas or not values.get("caKey"):
            return None
        points = [renew_point(cas[0], window)]
        points += [c.not_valid_after_utc for c in cas[1:]]
        for prefix in LEAVES:
            leaf = load_certificate(values.get(f"{prefix}Cert") or "")
            if leaf is not None:
                points.append(renew_point(leaf, window))
        return min(points)

    def renew(self, values: dict[str, str], ctx: Context, window: timedelta) -> Prepared:
        """At ``ctx.now``: a CA inside its window is replaced (new CA and leaves, the old CA
        kept in the bundle); otherwise leaves inside theirs are reissued by the same CA with
        new keys of the same type, for the same hosts; expired transition CAs are dropped."""
        cas = certificates(values.get("caCert") or "")
        ca_key, _ = load_private_key(values.get("caKey") or "")
        if not cas or ca_key is None:
            raise ValidationError({"values.caKey": "The CA key is needed to renew certificates."})
        ca = cas[0]
        if ctx.now >= renew_point(ca, window):
            return self.rotate(values, ctx)
        leaves = {p: load_certificate(values.get(f"{p}Cert") or "") for p in LEAVES}
        due = tuple(
            p for p, leaf in leaves.items() if leaf and ctx.now >= renew_point(leaf, window)
        )
        stored = dict(values)
        made: dict[str, str] = {}
        if due:
            # A leaf never outlives the CA that signs it.
            end = min(ctx.now + self._validity(values), ca.not_valid_after_utc)
            made = issue_leaves(
                ca,
                cast(CertificateIssuerPrivateKeyTypes, ca_key),
                parse_hosts(values["hosts"]),
                (ctx.now - BACKDATE, end),
                self._key_type(values, "serverKey"),
                ctx,
                due,
            )
        kept = [ca, *(c for c in cas[1:] if c.not_valid_after_utc > ctx.now)]
        if len(kept) != len(cas):
            made["caCert"] = bundle(kept)
        stored.update(made)
        return Prepared(values=stored, generated=made, expires_at=self.expiry(stored))

    def rotate(self, values: dict[str, str], ctx: Context) -> Prepared:
        """A new CA and new server, client and peer certificates for the same hosts, validity
        and key type; the CAs of ``caCert`` still valid stay in the bundle after the new one."""
        hosts = parse_hosts(values["hosts"])
        made = generate(hosts, self._validity(values), self._key_type(values, "caKey"), ctx)
        previous = [
            c for c in certificates(values.get("caCert") or "") if c.not_valid_after_utc > ctx.now
        ]
        new_ca = certificates(made["caCert"])
        made["caCert"] = bundle(new_ca + previous)
        stored = {**values, **made}
        return Prepared(values=stored, generated=made, expires_at=self.expiry(stored))

    @staticmethod
    def _validity(values: dict[str, str]) -> timedelta:
        """The stored ``validity``, or for supplied certificates the server certificate's."""
        if values.get("validity"):
            return parse_validity(values["validity"])
        server = load_certificate(values.get("serverCert") or "")
        if server is None:
            return parse_validity(DEFAULT_VALIDITY)
        span = server.not_valid_after_utc - server.not_valid_before_utc - BACKDATE
        return max(span, MIN_RENEWED_VALIDITY)

    @staticmethod
    def _key_type(values: dict[str, str], key_name: str) -> str:
        """The stored ``keyType``, or the kind of the existing key, or the default."""
        if values.get("keyType") in KEY_TYPES:
            return values["keyType"]
        key, _ = load_private_key(values.get(key_name) or "")
        return key_type_of(key) or DEFAULT_KEY_TYPE

    def install_data(self, values: dict[str, str]) -> dict[str, str]:
        data = super().install_data(values)
        # kubernetes.io/tls wants tls.crt and tls.key; ca.crt is the common companion.
        data.update(
            {
                "tls.crt": values["serverCert"],
                "tls.key": values["serverKey"],
                "ca.crt": values["caCert"],
            }
        )
        return data

    def expiry(self, values: dict[str, str]) -> datetime | None:
        found = []
        for name in ("caCert", "serverCert", "clientCert", "peerCert"):
            try:
                cert = x509.load_pem_x509_certificate((values.get(name) or "").encode())
            except ValueError:
                continue
            found.append(cert.not_valid_after_utc)
        return min(found, default=None)


TYPE = TlsType()
