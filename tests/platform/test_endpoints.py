"""Webhook endpoint secrets are sealed by the shared Sealer, and secrets stored by earlier
releases (their own unversioned format) still sign deliveries."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from rescind.config import Settings
from rescind.platform.endpoints import active_endpoints, add_endpoint, secret_sealer
from rescind.security.crypto import DecryptionError
from rescind.store import Database
from rescind.store.models import WebhookEndpoint

LEGACY_LABEL = b"rescind webhook endpoint secrets"


def legacy_blob(settings: Settings, secret: str, nonce: bytes | None = None) -> bytes:
    """A secret sealed exactly as `platform/endpoints.py` did before it used the Sealer."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"rescind-v1", info=LEGACY_LABEL).derive(
        settings.secret_key.get_secret_value().encode()
    )
    nonce = nonce or os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, secret.encode(), LEGACY_LABEL)


def test_new_secrets_are_versioned_blobs_that_open(settings: Settings, database: Database) -> None:
    with database.session() as session:
        row, secret = add_endpoint(session, settings, "https://hooks.example/a")
        assert row.secret_enc[:1] == b"\x01" and secret.encode() not in row.secret_enc
    with database.session() as session:
        assert [e.secrets for e in active_endpoints(session, settings)] == [(secret,)]


# The second nonce starts with the version byte of the new format: it must still be read as
# a legacy blob, not refused as a damaged new one.
@pytest.mark.parametrize("nonce", [None, b"\x01" + bytes(11)], ids=["random", "v1-like"])
def test_secrets_stored_in_the_old_format_still_open(
    settings: Settings, database: Database, nonce: bytes | None
) -> None:
    with database.session() as session:
        session.add(
            WebhookEndpoint(
                url="https://hooks.example/old",
                secret_enc=legacy_blob(settings, "old-secret", nonce),
                active=True,
            )
        )
    with database.session() as session:
        assert [(e.url, e.secrets) for e in active_endpoints(session, settings)] == [
            ("https://hooks.example/old", ("old-secret",))
        ]


def test_a_secret_does_not_open_under_another_instance_key(settings: Settings) -> None:
    other = settings.model_copy(update={"secret_key": SecretStr("another-instance-key-" * 3)})
    for blob in (secret_sealer(settings).seal("s1"), legacy_blob(settings, "s2")):
        assert secret_sealer(settings).open(blob) in ("s1", "s2")
        with pytest.raises(DecryptionError):
            secret_sealer(other).open(blob)
        with pytest.raises(DecryptionError):  # altered
            secret_sealer(settings).open(blob[:-1] + bytes([blob[-1] ^ 1]))
