"""The instance's Ed25519 identity: made once, private, and signatures checked strictly."""

from __future__ import annotations

import base64
import hashlib
import stat
import tempfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pydantic import SecretStr

from rescind.config import Settings
from rescind.exchange.identity import KEY_FILE, instance_id_of, load_identity, verify


def _settings(data_dir: Path) -> Settings:
    # A configured secret key, as in production: nothing makes data_dir before the identity.
    return Settings(data_dir=data_dir, secret_key=SecretStr("k" * 40))


def test_the_key_is_made_once_into_a_private_file_and_nowhere_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared_tmp = tmp_path / "system-tmp"
    shared_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared_tmp))
    data_dir = tmp_path / "not" / "yet" / "there"
    assert not data_dir.parent.exists()
    first = load_identity(_settings(data_dir))
    assert [p.name for p in data_dir.iterdir()] == [KEY_FILE]  # no temporary file left over
    assert stat.S_IMODE((data_dir / KEY_FILE).stat().st_mode) == 0o600
    assert list(shared_tmp.iterdir()) == []  # the private key never passed through /tmp
    again = load_identity(_settings(data_dir))
    assert again.public_key == first.public_key


def test_the_instance_id_is_a_digest_of_the_public_key(tmp_path: Path) -> None:
    identity = load_identity(_settings(tmp_path))
    raw = base64.b64decode(identity.public_key)
    assert identity.instance_id == hashlib.sha256(raw).hexdigest()[:32]
    assert instance_id_of(identity.public_key) == identity.instance_id


def test_a_key_file_of_another_kind_is_refused_by_name(tmp_path: Path) -> None:
    pem = generate_private_key(SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    (tmp_path / KEY_FILE).write_bytes(pem)
    with pytest.raises(ValueError, match=f"{KEY_FILE} does not hold an Ed25519 key"):
        load_identity(_settings(tmp_path))


def test_only_the_exact_signature_of_the_exact_bytes_verifies(tmp_path: Path) -> None:
    identity = load_identity(_settings(tmp_path))
    signature = identity.sign(b"page")
    assert verify(identity.public_key, b"page", signature)
    assert not verify(identity.public_key, b"page!", signature)
    # Characters outside base64 are not skipped: a signature is read as sent or refused.
    assert not verify(identity.public_key, b"page", signature[:10] + "!" + signature[10:])
    assert not verify(identity.public_key, b"page", signature + "\n")
    other = load_identity(_settings(tmp_path / "other"))
    assert not verify(other.public_key, b"page", signature)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("not base64!", "a public key is 44 characters of base64"),
        ("A" * 43 + "=\n" + "A", "a public key is 44 characters of base64"),
        ("", "a public key is 44 characters of base64 (32 bytes)"),
        ("QUJD", "a public key is 44 characters of base64 (32 bytes)"),
    ],
)
def test_a_public_key_must_be_32_bytes_of_strict_base64(bad: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        instance_id_of(bad)
    assert str(refused.value) == message


def test_a_public_key_with_stray_characters_is_refused_not_cleaned(tmp_path: Path) -> None:
    key = load_identity(_settings(tmp_path)).public_key
    with pytest.raises(ValueError) as refused:
        instance_id_of(key[:20] + "!" + key[20:])
    assert str(refused.value) == "a public key is 44 characters of base64"
