"""Accessibility basics checked on the real pages: every input has a label, text colours meet
WCAG AA contrast (4.5:1), and pages declare their language."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from fastapi.testclient import TestClient

CSS = (resources.files("rescind.web") / "static" / "rescind.css").read_text()


def _hex(name: str) -> tuple[float, float, float]:
    match = re.search(rf"--{name}:\s*#([0-9a-fA-F]{{6}})", CSS)
    assert match, name
    value = match.group(1)
    return tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


WHITE = (1.0, 1.0, 1.0)


@pytest.mark.parametrize(
    ("fore", "back"),
    [
        ("fg", "bg"),
        ("muted", "bg"),
        ("muted", "soft"),
        ("accent", "bg"),
        ("danger", "bg"),
        ("warn", "bg"),
        ("ok", "bg"),
        ("fg", "soft"),
    ],
)
def test_text_colours_meet_aa_contrast(fore: str, back: str) -> None:
    assert _contrast(_hex(fore), _hex(back)) >= 4.5


@pytest.mark.parametrize("button", ["accent", "accent-dark", "danger"])
def test_white_on_buttons_meets_aa_contrast(button: str) -> None:
    assert _contrast(WHITE, _hex(button)) >= 4.5


@pytest.mark.parametrize("path", ["/", "/status"])
@pytest.mark.parametrize("lang", ["en", "id"])
def test_every_input_has_a_label(client: TestClient, path: str, lang: str) -> None:
    html = client.get(f"{path}?lang={lang}").text
    assert f'<html lang="{lang}">' in html
    inputs = re.findall(r"<(?:input|textarea|select)\b([^>]*)>", html)
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    for attrs in inputs:
        if 'type="hidden"' in attrs:
            continue
        found = re.search(r'id="([^"]+)"', attrs)
        assert found and found.group(1) in labelled, attrs
