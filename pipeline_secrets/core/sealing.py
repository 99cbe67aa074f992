"""Small secrets the server must keep, sealed with a key derived from its own secret key.

Webhook signing secrets, kept GitHub tokens and queued mail are stored as ``v1:`` + base64 of
a random 96-bit nonce and the AES-GCM ciphertext. Each use has its own ``purpose`` (the key is
derived with HKDF-SHA256 from ``SECRET_KEY`` and the purpose, so one kind of sealed text
never opens as another) and binds the row it belongs to as associated data, so a sealed text
copied to another row does not open. ``SECRET_KEY_FALLBACKS`` still open what the previous
key sealed.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "v1:"


class Unsealable(Exception):
    """No configured secret key opens the text (the server's secret key changed)."""


def _key(secret_key: str, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"pipeline-secrets {purpose}".encode()
    ).derive(secret_key.encode())


def seal(plain: str, *, purpose: str, bound_to: str) -> str:
    """``plain`` sealed for ``purpose``, opening only with the same ``bound_to``."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key(settings.SECRET_KEY, purpose)).encrypt(
        nonce, plain.encode(), bound_to.encode()
    )
    return PREFIX + base64.b64encode(nonce + sealed).decode()


def unseal(text: str, *, purpose: str, bound_to: str) -> str:
    """The plain text back; ``Unsealable`` when no configured secret key opens it."""
    try:
        raw = base64.b64decode(text.removeprefix(PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise Unsealable("The sealed text is damaged.") from None
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    for secret_key in keys:
        try:
            opened = AESGCM(_key(secret_key, purpose)).decrypt(
                raw[:12], raw[12:], bound_to.encode()
            )
        except InvalidTag:
            continue
        return opened.decode()
    raise Unsealable("No configured secret key opens the sealed text.")
