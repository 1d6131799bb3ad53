"""Characters that must not appear in a name or an identifier.

C0 controls and DEL: PostgreSQL refuses NUL in text, and terminals and logs obey the others.
Invisible formatting characters: zero-width spaces and joiners, directional marks, the
bidirectional embeddings, overrides and isolates, and the byte-order mark. They let two
different names or ids look the same on a reviewer's screen, or make `abc<U+202E>gpj.exe` read
as `abcexe.jpg`; no identifier needs them.

Personal names and signatures are held to `SPOOFING_CHARACTERS` only: the zero-width joiner
and non-joiner and the directional marks (U+200C-U+200F) are part of writing names in Persian,
Arabic, Hebrew and Indic scripts, whereas overrides, isolates, the zero-width space and the
byte-order mark change how the text around them reads and write no letter.
"""

from __future__ import annotations

import re

# Controls, plus U+200B-U+200F, U+202A-U+202E, U+2066-U+2069 and U+FEFF.
UNSAFE_IN_IDENTIFIERS = re.compile("[\x00-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# What a personal name must not hold beyond controls (see the module's docstring).
SPOOFING_CHARACTERS = re.compile("[\u200b\u202a-\u202e\u2066-\u2069\ufeff]")


def unsafe_in_identifier(text: str) -> bool:
    """Whether `text` holds a control or an invisible formatting character."""
    return UNSAFE_IN_IDENTIFIERS.search(text) is not None
