"""Every requester-facing string is in the catalogues and translated into every language, with
the same placeholders; no template hard-codes text outside `_()`."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from rescind.locale import LANGUAGES, translations

ROOT = Path(__file__).resolve().parents[2]
LOCALE = resources.files("rescind.locale")
_PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _extracted() -> set[str]:
    ids: set[str] = set()
    for sub, method in (("src/rescind/cases", "python"), ("src/rescind/web/public", "python")):
        for _f, _l, msg, _c, _x in extract_from_dir(
            ROOT / sub,
            method_map=[("**.py", method)],
            keywords={"N_": None, "gettext": None, "_": None},
        ):
            ids.add(msg if isinstance(msg, str) else msg[0])
    templates = ROOT / "src/rescind/web/templates"
    for _f, _l, msg, _c, _x in extract_from_dir(
        templates,
        method_map=[("base.html", "jinja2"), ("public/**.html", "jinja2")],
        keywords={"_": None},
    ):
        ids.add(msg if isinstance(msg, str) else msg[0])
    return ids


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_catalogue_is_complete(language: str) -> None:
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(_extracted() - set(translated))
    assert missing == [], f"translate in {language}: {missing}"
    for msgid, text in translated.items():
        assert sorted(_PLACEHOLDER.findall(msgid)) == sorted(_PLACEHOLDER.findall(text)), msgid
    assert translations(language).gettext("Send my request") != "Send my request"


def test_templates_have_no_bare_text() -> None:
    # Text between tags must come from `_()` or data; only punctuation and symbols may be bare.
    bare = re.compile(r">\s*([A-Za-z][A-Za-z ,.'!?]{3,})\s*<")
    offenders = []
    for path in (ROOT / "src/rescind/web/templates").rglob("*.html"):
        offenders += [f"{path.name}: {m}" for m in bare.findall(path.read_text())]
    assert offenders == []
