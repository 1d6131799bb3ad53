"""Message catalogues (gettext `.po`, compiled in memory with Babel on first use).

`messages` holds everything a requester reads (public pages and emails) and is translated into
every language in `LANGUAGES`; `console` holds the staff console, English for now.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "fr", "it", "id", "es", "de")
LANGUAGE_NAMES = {
    "en": "English",
    "fr": "Français",
    "it": "Italiano",
    "id": "Bahasa Indonesia",
    "es": "Español",
    "de": "Deutsch",
}
DEFAULT_LANGUAGE = "en"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Mark `message` for extraction without translating it here."""
    return message


@lru_cache(maxsize=32)
def translations(language: str, domain: str = "messages") -> gettext.NullTranslations:
    """The catalogue of `domain` in `language` (English text when there is none)."""
    po = resources.files("rescind.locale") / language / "LC_MESSAGES" / f"{domain}.po"
    if language not in LANGUAGES or not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=language, domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)
