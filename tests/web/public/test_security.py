"""Building blocks of the pages' security: signed tokens, rate limits, case identifiers,
encryption at rest, and the headers on static files."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from rescind.cases.identifiers import (
    new_case_number,
    new_status_secret,
    normalize_case_number,
    normalize_secret,
)
from rescind.config import Settings
from rescind.security.crypto import DecryptionError, Sealer
from rescind.web.ratelimit import RateLimiter
from rescind.web.sessions import Signer


def test_signed_tokens_reject_tampering_expiry_and_other_purposes() -> None:
    settings = Settings(environment="test")
    signer = Signer(settings, "case-session")
    token = signer.dumps({"rid": 7}, 60)
    assert signer.loads(token) == {"rid": 7, "exp": pytest.approx(time.time() + 60, abs=2)}
    body, mac = token.split(".")
    assert signer.loads(f"{body}x.{mac}") is None
    assert signer.loads(token[:-2]) is None
    assert Signer(settings, "console-session").loads(token) is None
    assert signer.loads(signer.dumps({"rid": 7}, -1)) is None
    other = Settings(environment="test", secret_key="another-secret-key-of-enough-length-1")
    assert Signer(other, "case-session").loads(token) is None


def test_token_bucket_refills_and_keeps_keys_apart() -> None:
    limiter = RateLimiter(2, 60.0)
    assert [limiter.allow("a", now=0.0) for _ in range(3)] == [True, True, False]
    assert limiter.allow("b", now=0.0)
    assert limiter.allow("a", now=30.0)  # one token back after half the period
    assert not limiter.allow("a", now=30.0)


def test_bounded_key_table() -> None:
    limiter = RateLimiter(1, 60.0, max_keys=3)
    for key in "abcd":
        limiter.allow(key, now=0.0)
    assert limiter.allow("a", now=0.0)  # "a" was evicted: a flood cannot grow memory


def test_case_numbers_and_secrets_survive_typing() -> None:
    number, secret = new_case_number(), new_status_secret()
    assert normalize_case_number(number.lower().replace("-", " ")) == number
    assert normalize_case_number("RSC-1234") is None
    assert normalize_case_number("RSC-UUUU-UUUU-UUUU") is None  # U is not in the alphabet
    assert normalize_secret(secret.lower().replace("-", "")) == secret
    assert normalize_case_number("rsc-abcd-efgh-ijkl") == "RSC-ABCD-EFGH-1JK1"


def test_contact_encryption_is_bound_to_key_and_purpose() -> None:
    settings = Settings(environment="test")
    blob = Sealer(settings).seal("alex@example.org")
    assert Sealer(settings).open(blob) == "alex@example.org"
    assert Sealer(settings).seal("alex@example.org") != blob  # fresh nonce each time
    with pytest.raises(DecryptionError):
        Sealer(settings, "totp").open(blob)
    with pytest.raises(DecryptionError):
        Sealer(settings).open(blob[:-1] + bytes([blob[-1] ^ 1]))


def test_static_files_carry_the_security_headers(client: TestClient) -> None:
    css = client.get("/static/rescind.css")
    assert css.status_code == 200
    assert css.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in css.headers["content-security-policy"]
    assert client.get("/static/public.js").status_code == 200
