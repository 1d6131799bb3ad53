"""Passwords and status secrets: an unknown account or case never verifies, whatever is typed."""

from __future__ import annotations

from pydantic import SecretStr

from rescind.config import Settings
from rescind.security.crypto import requester_digest
from rescind.security.passwords import hash_secret, verify_secret

GOLDEN_DIGEST = "1526a3e3976e5651ffbee1a84884eb5786537084a768415e0c1113eb147c5e1c"


def test_a_secret_verifies_only_against_its_own_hash() -> None:
    stored = hash_secret("correct horse")
    assert verify_secret(stored, "correct horse")
    assert not verify_secret(stored, "correct horse ")
    assert not verify_secret("not an argon2 hash", "correct horse")


def test_an_unknown_account_never_verifies_not_even_with_the_timing_dummys_value() -> None:
    # Unknown accounts and cases are checked against a dummy hash so the answer takes the same
    # time; knowing the dummy's value (it is in the source) must not let anyone in.
    assert not verify_secret(None, "rescind-dummy-value-never-matches")
    assert not verify_secret(None, "")


def test_the_requester_digest_is_stable_across_versions_and_ignores_case_and_spaces() -> None:
    # Stored digests group a requester's cases: the same address under the same instance key
    # must give the same digest after an upgrade. Value computed once and kept.
    settings = Settings(secret_key=SecretStr("r" * 40))
    digest = requester_digest(settings, "  Person@Example.org ")
    assert digest == requester_digest(settings, "person@example.org")
    assert digest == GOLDEN_DIGEST
    assert requester_digest(settings, "person@example.net") != digest
