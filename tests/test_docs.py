"""The docs tell the truth: every setting and every command is documented."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.main import get_command

from rescind.cli import app
from rescind.config import Settings

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _all_docs() -> str:
    return "\n".join(p.read_text() for p in sorted(DOCS.glob("*.md")))


def test_every_setting_is_documented() -> None:
    guide = (DOCS / "operator-guide.md").read_text()
    missing = [
        f"RESCIND_{name.upper()}"
        for name in Settings.model_fields
        if f"`RESCIND_{name.upper()}`" not in guide
    ]
    assert missing == [], f"document these in docs/operator-guide.md: {missing}"


def test_every_setting_has_help_text() -> None:
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []


def _command_paths(command: typer.core.TyperGroup | object, prefix: str) -> list[str]:
    sub = getattr(command, "commands", None)
    if not sub:
        return [prefix]
    paths: list[str] = []
    for name, child in sub.items():
        paths += _command_paths(child, f"{prefix} {name}")
    return paths


def test_every_command_is_documented() -> None:
    docs = _all_docs()
    commands = _command_paths(get_command(app), "rescind")
    assert [c for c in commands if c not in docs] == []
