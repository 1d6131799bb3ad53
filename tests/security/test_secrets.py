"""Passwords and status secrets: an unknown account or case never verifies, whatever is typed."""

from __future__ import annotations

from rescind.security.passwords import hash_secret, verify_secret


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
