"""Case numbers and status secrets survive typing: each confusable letter maps on purpose,
not by the chance of a random number containing it."""

from __future__ import annotations

import re

import pytest

from rescind.cases.identifiers import (
    ALPHABET,
    new_case_number,
    new_status_secret,
    normalize_case_number,
    normalize_secret,
)


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("RSC-0000-1111-2222", "RSC-0000-1111-2222"),
        ("RSC-OOOO-1111-2222", "RSC-0000-1111-2222"),  # O typed for 0
        ("rsc-oooo-1111-2222", "RSC-0000-1111-2222"),
        ("RSC-0000-IIII-2222", "RSC-0000-1111-2222"),  # I typed for 1
        ("RSC-0000-iiii-2222", "RSC-0000-1111-2222"),
        ("RSC-0000-LLLL-2222", "RSC-0000-1111-2222"),  # L typed for 1
        ("RSC-0000-llll-2222", "RSC-0000-1111-2222"),
        ("rsc 0o0O 1iIl 2222", "RSC-0000-1111-2222"),
        ("RSC_ABCD.EFGH JK12", "RSC-ABCD-EFGH-JK12"),
        ("  rsc--abcd--efgh--jk12\t", "RSC-ABCD-EFGH-JK12"),
        ("ABCDEFGHJK12", "RSC-ABCD-EFGH-JK12"),  # the prefix may be left out
        ("RSCABCDEFGHJK12", "RSC-ABCD-EFGH-JK12"),
    ],
)
def test_typed_case_numbers_normalise(typed: str, canonical: str) -> None:
    assert normalize_case_number(typed) == canonical


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "RSC-1234",
        "RSC-ABCD-EFGH-JK1",  # 11 characters
        "RSC-ABCD-EFGH-JK123",  # 13
        "RSC-UUUU-ABCD-EFGH",  # U is not in the alphabet
        "RSC-AB*D-EFGH-JK12",
        "RSC-ÀBCD-EFGH-JK12",
        "XYZ-ABCD-EFGH-JK12",
    ],
)
def test_what_cannot_be_a_case_number_is_none(typed: str) -> None:
    assert normalize_case_number(typed) is None


def test_only_the_first_64_characters_are_read() -> None:
    number = "RSC-ABCD-EFGH-JK12"
    assert normalize_case_number(" " * (64 - len(number)) + number) == number
    assert normalize_case_number(" " * (65 - len(number)) + number) is None


def test_secrets_normalise_the_same_confusables() -> None:
    assert normalize_secret("h8qz4 m2k7p abcde fghjk") == "H8QZ4-M2K7P-ABCDE-FGHJK"
    assert normalize_secret("oOiIl-LLLLL-00000-11111") == "00111-11111-00000-11111"
    assert normalize_secret("a.b_c-d e") == "ABCDE"
    assert normalize_secret("A" * 70) == "-".join(["A" * 5] * 12 + ["AAAA"])


def test_fresh_numbers_and_secrets_use_the_alphabet_and_differ() -> None:
    assert len(ALPHABET) == 32 and not set("ILOU") & set(ALPHABET)
    numbers = {new_case_number() for _ in range(200)}
    assert len(numbers) == 200
    group = f"[{ALPHABET}]{{4}}"
    assert all(re.fullmatch(f"RSC-{group}-{group}-{group}", n) for n in numbers)
    assert all(normalize_case_number(n.lower()) == n for n in numbers)
    secrets = {new_status_secret() for _ in range(200)}
    assert len(secrets) == 200
    assert all(re.fullmatch("-".join([f"[{ALPHABET}]{{5}}"] * 4), s) for s in secrets)
    assert all(normalize_secret(s.lower().replace("-", " ")) == s for s in secrets)
    # Every character of the alphabet is drawn (not a fixed subset).
    assert set("".join(numbers).replace("RSC", "").replace("-", "")) == set(ALPHABET)
