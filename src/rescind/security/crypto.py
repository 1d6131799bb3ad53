"""Encryption at rest for requester contact details (and other small secrets).

AES-256-GCM with a key derived (HKDF-SHA256) from `settings.secret_key` and a purpose label, so
the contact key is never the key that signs cookies. Blobs are `version || nonce || ciphertext`.
Rotating the secret key makes existing blobs unreadable: see docs/requests.md.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from rescind.config import Settings

_VERSION = b"\x01"


class DecryptionError(ValueError):
    """A blob was not written with this key (or was altered)."""


def derive_key(settings: Settings, purpose: str) -> bytes:
    """A 32-byte key for `purpose`, derived from the instance secret key."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"rescind-v1", info=purpose.encode()
    ).derive(settings.secret_key.get_secret_value().encode())


class Sealer:
    """Encrypts and decrypts short strings for one purpose (e.g. `contact`)."""

    def __init__(self, settings: Settings, purpose: str = "contact") -> None:
        self._aead = AESGCM(derive_key(settings, f"seal:{purpose}"))
        self._aad = purpose.encode()

    def seal(self, text: str) -> bytes:
        """Encrypt `text`."""
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, text.encode(), self._aad)

    def open(self, blob: bytes) -> str:
        """Decrypt a blob made by `seal`."""
        if len(blob) < 29 or blob[:1] != _VERSION:
            raise DecryptionError("unknown blob format")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], self._aad).decode()
        except Exception as exc:  # InvalidTag: wrong key or altered data
            raise DecryptionError("cannot decrypt") from exc


def requester_digest(settings: Settings, email: str) -> str:
    """A keyed hash of a normalised email address: the same requester's cases share it, so
    reviewers can see repeat (or repeat bad-faith) requests without decrypting anything, and
    the digest is useless without the instance key."""
    key = derive_key(settings, "requester-digest")
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()
