"""This instance's signing identity: an Ed25519 key pair generated into `data_dir` on first use.

The private key never leaves the file (mode 0600); partners are given the public key
(`rescind exchange identity`) and verify every feed page with it. The instance id, which
names this instance in provenance, is a digest of the public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from rescind.config import Settings

KEY_FILE = "exchange-ed25519.pem"


def instance_id_of(public_key: str) -> str:
    """The instance id a public key (base64) stands for."""
    return hashlib.sha256(decode_public_key_bytes(public_key)).hexdigest()[:32]


def decode_public_key_bytes(public_key: str) -> bytes:
    """The 32 raw bytes of a base64 public key, or ValueError."""
    try:
        raw = base64.b64decode(public_key.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a public key is 44 characters of base64") from None
    if len(raw) != 32:
        raise ValueError("a public key is 44 characters of base64 (32 bytes)")
    return raw


@dataclass(frozen=True)
class Identity:
    """The key pair that signs this instance's feed."""

    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        """The public key, base64 (what partners configure)."""
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    @property
    def instance_id(self) -> str:
        """This instance's id in provenance."""
        return instance_id_of(self.public_key)

    def sign(self, data: bytes) -> str:
        """A base64 signature of `data`."""
        return base64.b64encode(self.private_key.sign(data)).decode()


def verify(public_key: str, data: bytes, signature: str) -> bool:
    """Whether `signature` (base64) is the key's signature of `data`."""
    try:
        key = Ed25519PublicKey.from_public_bytes(decode_public_key_bytes(public_key))
        key.verify(base64.b64decode(signature, validate=True), data)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def load_identity(settings: Settings) -> Identity:
    """The instance's key pair, generated into `data_dir` (mode 0600) the first time."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    path = Path(settings.data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
        # Written whole to a private file, then linked into place: two processes starting at
        # once end up with the same key, never half of one.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".exchange-key-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 key")
    return Identity(key)
