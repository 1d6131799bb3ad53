"""Signed cookie values (HMAC-SHA256 with a key derived from the secret key), with expiry.

Used for the console session, the requester's status-page session and CSRF tokens. Values are
signed, not encrypted: they carry ids and nonces, never personal data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from rescind.config import Settings
from rescind.security.crypto import derive_key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and checks JSON payloads for one purpose."""

    def __init__(self, settings: Settings, purpose: str) -> None:
        self._key = derive_key(settings, f"sign:{purpose}")

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def dumps(self, payload: dict[str, Any], max_age_s: float) -> str:
        """A signed token of `payload` valid for `max_age_s` seconds."""
        body = _b64(
            json.dumps(
                {**payload, "exp": int(time.time() + max_age_s)}, separators=(",", ":")
            ).encode()
        )
        return f"{body}.{self._mac(body)}"

    def loads(self, token: str | None) -> dict[str, Any] | None:
        """The payload of a valid, unexpired token; None otherwise."""
        if not token or len(token) > 4096 or "." not in token:
            return None
        body, _, mac = token.rpartition(".")
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            payload = json.loads(_unb64(body))
        except ValueError:
            return None
        if not isinstance(payload, dict) or int(payload.get("exp", 0)) < time.time():
            return None
        return payload

    def mac(self, value: str) -> str:
        """A bare MAC of `value` (for double-submit CSRF tokens)."""
        return self._mac(value)
