"""`verify_signature`, the receiver's side of webhook signing: each boundary pinned by a test."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from rescind.client import WebhookVerificationError, parse_webhook, verify_signature
from rescind.platform.webhooks import signature_header

SECRET = "whsec-boundaries"
BODY = b'{"id":7,"type":"content.remove"}'
NOW = 1_700_000_000
# The refusals word for word: a receiver logs them, and an operator searches for them.
STALE = r"^timestamp outside the tolerance window \(replay\?\)$"
MALFORMED = r"^malformed Rescind-Signature header$"
NO_MATCH = r"^no signature matches$"
MISSING_OR_MALFORMED = r"^(missing|malformed) Rescind-Signature header$"


def _v1(t: int, body: bytes = BODY, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_timestamps_within_the_tolerance_either_way_are_accepted(offset: int) -> None:
    t = NOW + offset
    verify_signature(SECRET, f"t={t},v1={_v1(t)}", BODY, now=NOW)


@pytest.mark.parametrize("offset", [-301, 301, -86400, 86400])
def test_timestamps_past_the_tolerance_either_way_are_refused(offset: int) -> None:
    # A future timestamp is as suspect as an old one: a clock far ahead would let a captured
    # delivery be replayed until that time.
    t = NOW + offset
    with pytest.raises(WebhookVerificationError, match=STALE):
        verify_signature(SECRET, f"t={t},v1={_v1(t)}", BODY, now=NOW)


def test_the_tolerance_is_the_callers() -> None:
    t = NOW - 10
    verify_signature(SECRET, f"t={t},v1={_v1(t)}", BODY, now=NOW, tolerance_s=10)
    with pytest.raises(WebhookVerificationError, match=STALE):
        verify_signature(SECRET, f"t={t},v1={_v1(t)}", BODY, now=NOW, tolerance_s=9)


@pytest.mark.parametrize("scheme", ["v0", "v2", "v10", "V1", "v", "s1", "v1 "])
def test_only_the_v1_scheme_is_accepted(scheme: str) -> None:
    with pytest.raises(WebhookVerificationError, match=MALFORMED):
        verify_signature(SECRET, f"t={NOW},{scheme}={_v1(NOW)}", BODY, now=NOW)


def test_a_v1_among_other_schemes_and_wrong_signatures_is_found() -> None:
    header = f"t={NOW},v0={_v1(NOW)},v1={'0' * 64},v1=,v1={_v1(NOW)}"
    verify_signature(SECRET, header, BODY, now=NOW)


def test_the_signature_covers_timestamp_and_body() -> None:
    with pytest.raises(WebhookVerificationError, match=NO_MATCH):
        verify_signature(SECRET, f"t={NOW + 1},v1={_v1(NOW)}", BODY, now=NOW)
    with pytest.raises(WebhookVerificationError, match=NO_MATCH):
        verify_signature(SECRET, f"t={NOW},v1={_v1(NOW)}", BODY + b" ", now=NOW)
    with pytest.raises(WebhookVerificationError, match=NO_MATCH):
        verify_signature(SECRET, f"t={NOW},v1={_v1(NOW).upper()}", BODY, now=NOW)


def test_any_of_the_rotating_secrets_may_have_signed() -> None:
    header = signature_header(["old", "new"], BODY, NOW)
    verify_signature(["new"], header, BODY, now=NOW)
    verify_signature(("other", "old"), header, BODY, now=NOW)
    with pytest.raises(WebhookVerificationError, match=NO_MATCH):
        verify_signature(["other", "third"], header, BODY, now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        f"v1={'0' * 64}",
        f"t={NOW}",
        f"t={NOW},v1=",
        f"t=-{NOW},v1={'0' * 64}",
        f"t=+{NOW},v1={'0' * 64}",
        f"t=1e9,v1={'0' * 64}",
        f"t=²,v1={'0' * 64}",  # a digit to str.isdigit, not to int()
        f"t=١٧٠٠٠٠٠٠٠٠,v1={'0' * 64}",  # Arabic-Indic digits
    ],
)
def test_malformed_headers_are_refused(header: str | None) -> None:
    with pytest.raises(WebhookVerificationError, match=MISSING_OR_MALFORMED):
        verify_signature(SECRET, header, BODY, now=NOW)


def test_non_ascii_signatures_are_refused_not_crashing() -> None:
    # hmac.compare_digest raises TypeError on non-ASCII text: a receiver would answer 500.
    with pytest.raises(WebhookVerificationError):
        verify_signature(SECRET, f"t={NOW},v1=é{_v1(NOW)[1:]}", BODY, now=NOW)
    verify_signature(SECRET, f"t={NOW},v1=é,v1={_v1(NOW)}", BODY, now=NOW)


def test_without_now_the_clock_is_the_current_time() -> None:
    with pytest.raises(WebhookVerificationError, match=STALE):
        verify_signature(SECRET, f"t={NOW},v1={_v1(NOW)}", BODY)


def test_parse_webhook_verifies_then_decodes() -> None:
    import time

    t = int(time.time())
    assert parse_webhook(SECRET, f"t={t},v1={_v1(t)}", BODY) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError, match=STALE):
        parse_webhook(SECRET, f"t={t - 20},v1={_v1(t - 20)}", BODY, tolerance_s=10)
    with pytest.raises(WebhookVerificationError):
        parse_webhook("other", f"t={t},v1={_v1(t)}", BODY)


def test_parse_webhook_refuses_deliveries_older_than_five_minutes_by_default() -> None:
    for offset in (-300, 300):
        t = NOW + offset
        assert parse_webhook(SECRET, f"t={t},v1={_v1(t)}", BODY, now=NOW)["id"] == 7
    for offset in (-301, 301):
        t = NOW + offset
        with pytest.raises(WebhookVerificationError, match=STALE):
            parse_webhook(SECRET, f"t={t},v1={_v1(t)}", BODY, now=NOW)
