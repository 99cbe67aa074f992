"""PEM parsing shared by the types that hold keys and certificates.

Every loader answers None (or a reason) instead of raising, so callers can turn a failure
into a field error without ever echoing the value that failed.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

PEM_CERT_MARKER = "-----BEGIN CERTIFICATE-----"


def load_certificate(text: str) -> x509.Certificate | None:
    """The first certificate of a PEM text, or None when there is none that parses."""
    if PEM_CERT_MARKER not in text:
        return None
    try:
        return x509.load_pem_x509_certificate(text.encode())
    except ValueError:
        return None


def load_private_key(text: str) -> tuple[PrivateKeyTypes | None, str]:
    """A PEM private key (PKCS#8, PKCS#1 or SEC1), or None and the reason it is unusable."""
    if "-----BEGIN" not in text or "PRIVATE KEY-----" not in text:
        return None, "Not a PEM private key."
    try:
        # OpenSSL's RSA consistency check costs ~0.1 s a key, which re-validating a store
        # full of certificates cannot afford; key_matches proves the key works instead.
        key = serialization.load_pem_private_key(
            text.encode(), password=None, unsafe_skip_rsa_key_validation=True
        )
        return key, ""
    except TypeError:
        return None, "Passphrase-protected keys are not supported."
    except ValueError:
        return None, "Not a PEM private key that can be read."
    except UnsupportedAlgorithm:
        return None, "Not a supported kind of private key."


def public_der(key: PublicKeyTypes) -> bytes:
    """A public key's SubjectPublicKeyInfo, the form in which two keys compare equal."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_matches(private: PrivateKeyTypes, public: PublicKeyTypes) -> bool:
    """Whether ``private`` is the key of ``public``: same public half, and it really signs."""
    if public_der(private.public_key()) != public_der(public):
        return False
    message = b"pipeline-secrets key check"
    try:
        if isinstance(private, rsa.RSAPrivateKey) and isinstance(public, rsa.RSAPublicKey):
            pad = padding.PKCS1v15()
            public.verify(
                private.sign(message, pad, hashes.SHA256()), message, pad, hashes.SHA256()
            )
        elif isinstance(private, ec.EllipticCurvePrivateKey) and isinstance(
            public, ec.EllipticCurvePublicKey
        ):
            algorithm = ec.ECDSA(hashes.SHA256())
            public.verify(private.sign(message, algorithm), message, algorithm)
        elif isinstance(private, ed25519.Ed25519PrivateKey) and isinstance(
            public, ed25519.Ed25519PublicKey
        ):
            public.verify(private.sign(message), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def private_pem(key: PrivateKeyTypes) -> str:
    """Unencrypted PKCS#8, which every TLS stack we install into reads."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def certificate_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()
