"""Encryption at rest: what opens, what is refused, and the legacy format still read."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from rescind.config import Settings
from rescind.security.crypto import DecryptionError, Sealer

LABEL = b"an older format"
SETTINGS = Settings(secret_key=SecretStr("s" * 40))
OTHER = Settings(secret_key=SecretStr("t" * 40))


def _legacy(text: str, nonce: bytes | None = None, settings: Settings = SETTINGS) -> bytes:
    """`nonce || ciphertext` under the key HKDF derives with the label: the old format."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"rescind-v1", info=LABEL).derive(
        settings.secret_key.get_secret_value().encode()
    )
    nonce = nonce or os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, text.encode(), LABEL)


def test_sealed_text_opens_only_with_the_same_key_and_purpose() -> None:
    blob = Sealer(SETTINGS).seal("person@example.org")
    assert b"person" not in blob and blob[:1] == b"\x01"
    assert Sealer(SETTINGS).open(blob) == "person@example.org"
    for wrong in (Sealer(OTHER), Sealer(SETTINGS, "totp")):
        with pytest.raises(DecryptionError, match=r"^cannot decrypt$"):
            wrong.open(blob)


def test_the_shortest_blobs_of_each_format_open() -> None:
    # Empty text: 1 + 12 + 16 bytes versioned, 12 + 16 legacy.
    assert len(empty := Sealer(SETTINGS).seal("")) == 29
    assert Sealer(SETTINGS).open(empty) == ""
    assert len(old := _legacy("")) == 28
    assert Sealer(SETTINGS, legacy_label=LABEL).open(old) == ""


def test_legacy_blobs_open_only_where_a_legacy_format_exists() -> None:
    old = _legacy("whsec-old")
    assert Sealer(SETTINGS, legacy_label=LABEL).open(old) == "whsec-old"
    # A legacy nonce starting with the version byte is still read as legacy.
    lookalike = _legacy("whsec-old", nonce=b"\x01" + os.urandom(11))
    assert Sealer(SETTINGS, legacy_label=LABEL).open(lookalike) == "whsec-old"
    with pytest.raises(DecryptionError, match=r"^unknown blob format$"):
        Sealer(SETTINGS).open(old)
    with pytest.raises(DecryptionError, match=r"^cannot decrypt$"):
        Sealer(SETTINGS).open(lookalike)
    with pytest.raises(DecryptionError, match=r"^cannot decrypt$"):
        Sealer(OTHER, legacy_label=LABEL).open(old)
    tampered = old[:12] + bytes([old[12] ^ 1]) + old[13:]
    with pytest.raises(DecryptionError, match=r"^cannot decrypt$"):
        Sealer(SETTINGS, legacy_label=LABEL).open(tampered)


@pytest.mark.parametrize("size", [0, 1, 27])
def test_blobs_too_short_for_any_format_are_refused(size: int) -> None:
    with pytest.raises(DecryptionError, match=r"^unknown blob format$"):
        Sealer(SETTINGS, legacy_label=LABEL).open(b"\x01" * size)


def test_contact_details_sealed_by_the_documented_format_open() -> None:
    # Stored contact details must open after any upgrade: version byte 1, a 12-byte nonce,
    # AES-256-GCM under HKDF-SHA256(secret, salt "rescind-v1", info "seal:contact") with the
    # purpose "contact" as associated data. Computed here independently of rescind.security.
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"rescind-v1", info=b"seal:contact")
    nonce = os.urandom(12)
    ciphertext = AESGCM(key.derive(b"s" * 40)).encrypt(nonce, b"person@example.org", b"contact")
    assert Sealer(SETTINGS).open(b"\x01" + nonce + ciphertext) == "person@example.org"
