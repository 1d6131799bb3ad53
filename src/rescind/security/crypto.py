"""Encryption at rest for requester contact details, TOTP and webhook endpoint secrets.

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
    return _hkdf(settings, purpose.encode())


def _hkdf(settings: Settings, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"rescind-v1", info=info).derive(
        settings.secret_key.get_secret_value().encode()
    )


class Sealer:
    """Encrypts and decrypts short strings for one purpose (e.g. `contact`).

    `legacy_label` names an older, unversioned format still found in databases for this
    purpose: `nonce || ciphertext` under the key HKDF derives with info `legacy_label`, and
    that label as associated data. Such blobs still open; new blobs are always versioned.
    """

    def __init__(
        self, settings: Settings, purpose: str = "contact", *, legacy_label: bytes | None = None
    ) -> None:
        self._aead = AESGCM(derive_key(settings, f"seal:{purpose}"))
        self._aad = purpose.encode()
        self._legacy = (
            (AESGCM(_hkdf(settings, legacy_label)), legacy_label)
            if legacy_label is not None
            else None
        )

    def seal(self, text: str) -> bytes:
        """Encrypt `text`."""
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, text.encode(), self._aad)

    def open(self, blob: bytes) -> str:
        """Decrypt a blob made by `seal` (or in this purpose's legacy format)."""
        if len(blob) >= 29 and blob[:1] == _VERSION:
            try:
                return self._aead.decrypt(blob[1:13], blob[13:], self._aad).decode()
            except Exception as exc:  # InvalidTag: wrong key or altered data
                # A legacy blob's random nonce starts with the version byte once in 256.
                if self._legacy is None:
                    raise DecryptionError("cannot decrypt") from exc
        if self._legacy is None or len(blob) < 28:
            raise DecryptionError("unknown blob format")
        aead, label = self._legacy
        try:
            return aead.decrypt(blob[:12], blob[12:], label).decode()
        except Exception as exc:
            raise DecryptionError("cannot decrypt") from exc


def requester_digest(settings: Settings, email: str) -> str:
    """A keyed hash of a normalised email address: the same requester's cases share it, so
    reviewers can see repeat (or repeat bad-faith) requests without decrypting anything, and
    the digest is useless without the instance key."""
    key = derive_key(settings, "requester-digest")
    return hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()
