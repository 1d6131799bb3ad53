"""The receipt of a filed request: its case and secret, kept on the filing device only.

The server keeps an argon2 hash of a secret for checking it. Between the POST that files a
request and the confirmation page it redirects to, the secret travels in a cookie sealed with
the instance key (AES-GCM, so neither readable nor forgeable), HttpOnly, SameSite=Strict, scoped
to the confirmation's path, for `RECEIPT_S` seconds at most. It is cleared when the person says
they saved the secret. A reload or a language switch on that device shows the secret again.

A browser may drop the answer that carried the cookie (a double click cancels the first
navigation), so the case also keeps the secret sealed under a key derived from the form token
*and* the filing browser's CSRF cookie, neither of which the server stores (`receipt_enc`):
the same form sent again from that browser gets its receipt back, for `RECEIPT_S` seconds and
until the person says they saved it; the form token alone opens nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from rescind.config import Settings
from rescind.security.crypto import DecryptionError, Sealer, derive_key

RECEIPT_COOKIE = "rescind_receipt"
RECEIPT_PATH = "/received"
RECEIPT_S = 30 * 60
_PURPOSE = "receipt"


@dataclass(frozen=True)
class Receipt:
    """What the confirmation page shows: the case (by handle) and its secret."""

    handle: str
    secret: str


def set_receipt(response: Response, settings: Settings, handle: str, secret: str) -> None:
    """Attach the sealed receipt of a just-filed case to `response`."""
    payload = json.dumps({"h": handle, "s": secret, "exp": int(time.time() + RECEIPT_S)})
    sealed = Sealer(settings, _PURPOSE).seal(payload)
    response.set_cookie(
        RECEIPT_COOKIE,
        base64.urlsafe_b64encode(sealed).decode(),
        max_age=RECEIPT_S,
        httponly=True,
        samesite="strict",
        path=RECEIPT_PATH,
    )


def read_receipt(request: Request, settings: Settings) -> Receipt | None:
    """The receipt this browser holds, if it is ours and unexpired."""
    raw = request.cookies.get(RECEIPT_COOKIE)
    if not raw or len(raw) > 1024:
        return None
    try:
        payload = json.loads(Sealer(settings, _PURPOSE).open(base64.urlsafe_b64decode(raw)))
    except (binascii.Error, DecryptionError, ValueError):
        return None
    if not isinstance(payload, dict) or int(payload.get("exp", 0)) < time.time():
        return None
    handle, secret = payload.get("h"), payload.get("s")
    if not isinstance(handle, str) or not isinstance(secret, str):
        return None
    return Receipt(handle, secret)


def _replay_sealer(settings: Settings, binding: str) -> Sealer:
    digest = hmac.new(derive_key(settings, "receipt-replay"), binding.encode(), hashlib.sha256)
    return Sealer(settings, f"receipt-replay:{digest.hexdigest()}")


def seal_for_replay(settings: Settings, binding: str, secret: str) -> bytes:
    """The secret sealed for the browser `binding` names (form token + its CSRF cookie)."""
    payload = json.dumps({"s": secret, "exp": int(time.time() + RECEIPT_S)})
    return _replay_sealer(settings, binding).seal(payload)


def open_for_replay(settings: Settings, binding: str, blob: bytes | None) -> str | None:
    """The secret sealed by `seal_for_replay` for this same binding, while it lasts."""
    if blob is None:
        return None
    try:
        payload = json.loads(_replay_sealer(settings, binding).open(blob))
    except (DecryptionError, ValueError):
        return None
    if int(payload.get("exp", 0)) < time.time() or not isinstance(payload.get("s"), str):
        return None
    return str(payload["s"])


def clear_receipt(response: Response) -> None:
    """Forget the receipt on this device."""
    response.delete_cookie(RECEIPT_COOKIE, path=RECEIPT_PATH)
