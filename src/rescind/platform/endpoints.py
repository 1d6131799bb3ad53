"""Webhook endpoints: `RESCIND_WEBHOOK_URL` plus rows added by operators, secrets sealed at rest.

A secret setting may hold several comma-separated secrets during a rotation: every one signs
each delivery (one `v1=` per secret), so receivers can switch at their own pace.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.platform.errors import InvalidSignalError
from rescind.store.models import WebhookEndpoint

_PURPOSE = b"rescind webhook endpoint secrets"


@dataclass(frozen=True)
class Endpoint:
    """Where to POST actions, and the secrets signing them."""

    url: str
    secrets: tuple[str, ...]


def split_secrets(value: str) -> tuple[str, ...]:
    """`new,old` -> ("new", "old")."""
    return tuple(s.strip() for s in value.split(",") if s.strip())


def _aead(settings: Settings) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"rescind-v1", info=_PURPOSE).derive(
        settings.secret_key.get_secret_value().encode()
    )
    return AESGCM(key)


def seal(settings: Settings, secret: str) -> bytes:
    """Encrypt an endpoint secret for storage."""
    nonce = os.urandom(12)
    return nonce + _aead(settings).encrypt(nonce, secret.encode(), _PURPOSE)


def unseal(settings: Settings, blob: bytes) -> str:
    """Decrypt a stored endpoint secret."""
    return _aead(settings).decrypt(blob[:12], blob[12:], _PURPOSE).decode()


def add_endpoint(
    session: Session, settings: Settings, url: str, secret: str | None = None
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its secret (generated when not given)."""
    if not url.startswith(("https://", "http://")) or len(url) > 2048:
        raise InvalidSignalError("the URL must start with https:// or http://", field="url")
    secret = secret or secrets.token_urlsafe(32)
    row = WebhookEndpoint(url=url, secret_enc=seal(settings, secret), active=True)
    session.add(row)
    session.flush()
    return row, secret


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    """Every registered endpoint (not the one from settings)."""
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def active_endpoints(session: Session, settings: Settings) -> list[Endpoint]:
    """Where each action is delivered: the settings' endpoint and every active row."""
    found: list[Endpoint] = []
    if settings.webhook_url and settings.webhook_secret:
        found.append(
            Endpoint(
                settings.webhook_url, split_secrets(settings.webhook_secret.get_secret_value())
            )
        )
    for row in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))):
        found.append(Endpoint(row.url, (unseal(settings, row.secret_enc),)))
    return found
