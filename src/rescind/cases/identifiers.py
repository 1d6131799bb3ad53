"""Case numbers and status secrets: short enough to read out on the phone, too many to guess.

Both use Crockford's base32 alphabet (no I, L, O, U), so a person who types `0` for `O` or `1`
for `I` still gets in. A case number carries 60 random bits and a secret 100 bits; only an argon2
hash of the secret is stored.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CASE_PREFIX = "RSC"
_CONFUSABLE = str.maketrans({"I": "1", "L": "1", "O": "0"})
_CASE_RE = re.compile(rf"^{CASE_PREFIX}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}$")


def _random_chars(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def _groups(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def new_case_number() -> str:
    """A fresh case number, e.g. `RSC-7K3D-Q9XM-2B4F`."""
    return "-".join([CASE_PREFIX, *_groups(_random_chars(12), 4)])


def new_status_secret() -> str:
    """A fresh status-page secret, e.g. `H8QZ4-M2K7P-...` (20 characters, 100 bits)."""
    return "-".join(_groups(_random_chars(20), 5))


def _clean(text: str) -> str:
    return re.sub(r"[\s\-_.]", "", text.upper()).translate(_CONFUSABLE)


def normalize_case_number(text: str) -> str | None:
    """The canonical form of a typed case number, or None when it cannot be one."""
    raw = _clean(text[:64])
    raw = raw.removeprefix(CASE_PREFIX)
    if len(raw) != 12:
        return None
    candidate = "-".join([CASE_PREFIX, *_groups(raw, 4)])
    return candidate if _CASE_RE.match(candidate) else None


def normalize_secret(text: str) -> str:
    """The canonical form of a typed secret (the form it was hashed in)."""
    raw = _clean(text[:64])
    return "-".join(_groups(raw, 5))
