"""ssh: an SSH key pair, generated (ed25519, or RSA 4096) or supplied and checked.

The public key and its fingerprint are always derived from the private key: a supplied
public key must match it, and a supplied fingerprint is replaced by the computed one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from django.core.exceptions import ValidationError

from secrets_app.types.base import Context, Field, Prepared, SecretType
from secrets_app.types.pem import key_matches, load_private_key

KEY_TYPES = ("ed25519", "rsa")
DEFAULT_KEY_TYPE = "ed25519"
RSA_BITS = 4096
DEFAULT_COMMENT = "pipeline-secrets"
# user and identifier end up in the public key's comment: one line, no spaces.
NAME_RE = re.compile(r"^[^\s@]{1,255}$")
OPENSSH_LABEL = "OPENSSH PRIVATE KEY"
OPENSSH_MARKER = f"-----BEGIN {OPENSSH_LABEL}-----"
SSH_CURVES = ("secp256r1", "secp384r1", "secp521r1")


def fingerprint(blob: bytes) -> str:
    """The ``SHA256:...`` fingerprint ``ssh-keygen -lf`` prints: unpadded base64 of a SHA-256."""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode()
    return "SHA256:" + digest.rstrip("=")


def parse_public_line(text: str) -> tuple[str, bytes] | None:
    """(key type, key blob) of an authorized_keys line ``type base64 [comment]``, or None."""
    parts = text.strip().split(None, 2)
    if len(parts) < 2:
        return None
    try:
        blob = base64.b64decode(parts[1], validate=True)
        serialization.load_ssh_public_key(f"{parts[0]} {parts[1]}".encode())
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        return None
    # The blob names its own type; a line whose label disagrees is not a valid key line.
    if blob[4 : 4 + int.from_bytes(blob[:4], "big")] != parts[0].encode():
        return None
    return parts[0], blob


def public_line(key: PrivateKeyTypes) -> tuple[str, bytes]:
    """``type base64`` of a private key's public half, and the blob it encodes."""
    line = key.public_key().public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return line.decode(), base64.b64decode(line.split()[1])


def load_private(text: str) -> tuple[PrivateKeyTypes | None, str]:
    """An OpenSSH or PEM private key that SSH can use, or None and the reason it cannot."""
    if OPENSSH_MARKER in text:
        try:
            key: PrivateKeyTypes = serialization.load_ssh_private_key(
                text.encode(), password=None, unsafe_skip_rsa_key_validation=True
            )
        except TypeError:
            return None, "Passphrase-protected keys are not supported."
        except (ValueError, UnsupportedAlgorithm):
            return None, "Not an OpenSSH private key that can be read."
    else:
        loaded, reason = load_private_key(text)
        if loaded is None:
            return None, reason
        key = loaded
    if not isinstance(
        key, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    ):
        return None, "Only ed25519, RSA and ECDSA keys are supported."
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name not in SSH_CURVES:
        return None, "ECDSA keys must be on P-256, P-384 or P-521, the curves SSH knows."
    if not key_matches(key, key.public_key()):
        return None, "The private key is damaged (it does not sign)."
    return key, ""


def generate(key_type: str) -> PrivateKeyTypes:
    if key_type == "rsa":
        return rsa.generate_private_key(65537, RSA_BITS)
    return ed25519.Ed25519PrivateKey.generate()


def like(key: PrivateKeyTypes | None, key_type: str | None) -> PrivateKeyTypes:
    """A fresh key of the same kind as ``key`` (RSA of its size, ECDSA on its curve), or of
    ``key_type`` when there is no readable key, or of the default kind."""
    if isinstance(key, rsa.RSAPrivateKey):
        return rsa.generate_private_key(65537, max(key.key_size, 2048))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return ec.generate_private_key(key.curve)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return generate("ed25519")
    return generate(key_type if key_type in KEY_TYPES else DEFAULT_KEY_TYPE)


def openssh_private(key: PrivateKeyTypes) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()


def comment(values: dict[str, str]) -> str:
    parts = [values[k] for k in ("user", "identifier") if values.get(k)]
    return "@".join(parts) or DEFAULT_COMMENT


class SshType(SecretType):
    name = "ssh"
    description = "An SSH key pair (ed25519 by default, or RSA 4096); generated when not given."
    sourcing = "volume"
    kubernetes_type = "kubernetes.io/ssh-auth"
    fields = (
        Field("user", safe_to_display=True, description="The user the key is for."),
        Field(
            "identifier",
            safe_to_display=True,
            description="Where or what the key is for; the key comment is user@identifier.",
        ),
        Field(
            "public_key_data",
            generatable=True,
            safe_to_display=True,
            description="authorized_keys line; derived from the private key when not given.",
        ),
        Field(
            "public_key_fingerprint",
            generatable=True,
            safe_to_display=True,
            description="SHA256 fingerprint as ssh-keygen -l prints it; always computed.",
        ),
        Field(
            "private_key_data",
            generatable=True,
            description="OpenSSH private key without a passphrase (PEM is converted); "
            "generated when empty.",
        ),
        Field(
            "keyType",
            safe_to_display=True,
            description=f"Generated key type: {', '.join(KEY_TYPES)} (default {DEFAULT_KEY_TYPE}).",
            choices=KEY_TYPES,
        ),
    )

    rotatable = True

    def rotate(self, values: dict[str, str], ctx: Context) -> Prepared:
        """A new key of the same kind; the public key keeps its comment."""
        old, _ = load_private(values.get("private_key_data") or "")
        key = like(old, values.get("keyType"))
        line, blob = public_line(key)
        parts = (values.get("public_key_data") or "").split(None, 2)
        made = {
            "private_key_data": openssh_private(key),
            "public_key_data": f"{line} {parts[2] if len(parts) == 3 else comment(values)}",
            "public_key_fingerprint": fingerprint(blob),
        }
        return Prepared(values={**values, **made}, generated=made)

    def install_data(self, values: dict[str, str]) -> dict[str, str]:
        data = super().install_data(values)
        # kubernetes.io/ssh-auth requires ssh-privatekey.
        data["ssh-privatekey"] = values["private_key_data"]
        return data

    def prepare(self, values: dict[str, str], ctx: Context) -> Prepared:
        # Every field is checked before anything is reported, so one answer names them all.
        errors: dict[str, str] = {}
        for name in ("user", "identifier"):
            if values.get(name) and not NAME_RE.fullmatch(values[name]):
                errors[f"values.{name}"] = "Must be 1-255 characters without whitespace or '@'."
        key_type = values.get("keyType") or DEFAULT_KEY_TYPE
        if key_type not in KEY_TYPES:
            errors["values.keyType"] = f"Must be one of {', '.join(KEY_TYPES)}."
        loaded = None
        if values.get("private_key_data"):
            loaded, reason = load_private(values["private_key_data"])
            if loaded is None:
                errors["values.private_key_data"] = reason
        elif values.get("public_key_data"):
            errors["values.public_key_data"] = "Give private_key_data too, or neither to generate."
        if errors:
            raise ValidationError(errors)
        if loaded is None:
            key = generate(key_type)
            line, blob = public_line(key)
            made = {
                "private_key_data": openssh_private(key),
                "public_key_data": f"{line} {comment(values)}",
                "public_key_fingerprint": fingerprint(blob),
            }
            stored = {**values, "keyType": key_type, **made}
            return Prepared(values=stored, generated=made)
        line, blob = public_line(loaded)
        stored = dict(values)
        if OPENSSH_MARKER not in values["private_key_data"]:
            # OpenSSH cannot read every PEM form (ed25519 PKCS#8, for one): store the same
            # key in its own format so whatever installs it gets a key ssh accepts.
            stored["private_key_data"] = openssh_private(loaded)
        if values.get("public_key_data"):
            given = parse_public_line(values["public_key_data"])
            if given is None:
                raise ValidationError(
                    {"values.public_key_data": "Not an OpenSSH public key line (type base64 ...)."}
                )
            if given[1] != blob:
                raise ValidationError(
                    {"values.public_key_data": "Does not match private_key_data."}
                )
        else:
            stored["public_key_data"] = f"{line} {comment(values)}"
        stored["public_key_fingerprint"] = fingerprint(blob)
        return Prepared(values=stored)


TYPE = SshType()
