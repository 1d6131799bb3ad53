"""Receiving Rescind's webhooks: check the `Rescind-Signature` header, then read the body.

    from rescind.client import parse_webhook
    event = parse_webhook(secret, request.headers.get("Rescind-Signature"), raw_body)

Standard library only, so a receiver needs nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any

SIGNATURE_HEADER = "Rescind-Signature"


class WebhookVerificationError(Exception):
    """A webhook's signature is missing, wrong, or too old (possible replay)."""


def verify_signature(
    secret: str | Sequence[str],
    header: str | None,
    body: bytes,
    *,
    tolerance_s: float = 300,
    now: float | None = None,
) -> None:
    """Check a webhook's `Rescind-Signature` header against the raw body.

    `secret` may be several secrets (rotation): any of them may have signed. Deliveries older
    or newer than `tolerance_s` are refused, so a captured request cannot be replayed later;
    within the window, deduplicate on the body's `idempotency_key`.
    Raises WebhookVerificationError.
    """
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not header:
        raise WebhookVerificationError("missing Rescind-Signature header")
    t: int | None = None
    signatures: list[bytes] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        # ASCII only: `str.isdigit` accepts digits such as "²" that `int` refuses, and
        # `hmac.compare_digest` raises on non-ASCII text; both are a malformed header here.
        if not value.isascii():
            continue
        if key == "t" and value.isdigit():
            t = int(value)
        elif key == "v1" and value:
            signatures.append(value.encode())
    if t is None or not signatures:
        raise WebhookVerificationError("malformed Rescind-Signature header")
    if abs((time.time() if now is None else now) - t) > tolerance_s:
        raise WebhookVerificationError("timestamp outside the tolerance window (replay?)")
    signed = f"{t}.".encode() + body
    for s in secrets:
        expected = hmac.new(s.encode(), signed, hashlib.sha256).hexdigest().encode()
        if any(hmac.compare_digest(expected, given) for given in signatures):
            return
    raise WebhookVerificationError("no signature matches")


def parse_webhook(
    secret: str | Sequence[str],
    header: str | None,
    body: bytes,
    *,
    tolerance_s: float = 300,
    now: float | None = None,
) -> dict[str, Any]:
    """Verify (as `verify_signature`), then decode a webhook body: `{"id", "type",
    "content_id", "case_number", "idempotency_key", "created_at"}`."""
    verify_signature(secret, header, body, tolerance_s=tolerance_s, now=now)
    event: dict[str, Any] = json.loads(body)
    return event
