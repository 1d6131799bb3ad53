"""Sections of the docs written from the code, pasted in by cog (`make docs`; `cog --check` in the
tests): the settings table of docs/operator-guide.md and the command reference of docs/cli.md.

Run from the repository root with `src` importable; cog calls `settings_table()` and
`cli_reference()` from the `[[[cog` blocks of those pages."""

from __future__ import annotations

import enum
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from typer.main import get_command

from rescind.cli import app
from rescind.config import Settings

HIDDEN_DEFAULT = "(secret: not shown)"


def _cell(text: str) -> str:
    """One markdown table cell: no pipes or line breaks."""
    return " ".join(text.replace("|", "\\|").split())


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


def _type_name(annotation: Any) -> str:
    """How an operator writes the value: `int`, `path`, `dev | test | production`..."""
    if typing.get_origin(annotation) is typing.Literal:
        return " \\| ".join(str(a) for a in typing.get_args(annotation))
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args:  # `X | None`: unset is the None case, the type is X
        return _type_name(args[0])
    if annotation is SecretStr:
        return "secret"
    if annotation is Path:
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if _is_secret(field.annotation):
        return HIDDEN_DEFAULT
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, enum.Enum):
        value = value.value
    if value == "":
        return "empty"
    # A pipe ends a table cell even inside a code span unless escaped (GFM).
    return f"`{value}`".replace("|", "\\|")


def settings_table() -> str:
    """Every field of `Settings`: its variable, type, default (never a secret's) and help text."""
    rows = ["| Variable | Type | Default | Meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        rows.append(
            f"| `RESCIND_{name.upper()}` | {_type_name(field.annotation)} | {_default(field)} "
            f"| {_cell(field.description or '')} |"
        )
    return "\n".join(rows)


def _commands(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
    """(`rescind a b`, command) for the root, every group and every command, depth first."""
    yield " ".join(path), command
    for name, child in sorted(getattr(command, "commands", {}).items()):
        if not getattr(child, "hidden", False):
            yield from _commands(child, [*path, name])


def _is_option(param: Any) -> bool:
    return any(opt.startswith("-") for opt in param.opts)


def _usage(path: str, command: Any) -> str:
    pieces = [path, "[OPTIONS]"]
    for param in command.params:
        if not _is_option(param):
            metavar = (param.name or "").upper() + ("..." if param.nargs == -1 else "")
            pieces.append(metavar if param.required else f"[{metavar}]")
    if getattr(command, "commands", None):
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def _option_row(param: Any) -> str:
    names = " / ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
    if param.required:
        default = "required"
    elif param.is_flag or param.default in (None, ""):
        default = ""
    else:
        default = f"`{param.default}`"
    return f"| {names} | {default} | {_cell(param.help or '')} |"


def cli_reference() -> str:
    """Each command with its usage, help text, arguments and options."""
    out: list[str] = []
    for path, command in _commands(get_command(app), ["rescind"]):
        out += [f"### `{path}`", "", f"`{_usage(path, command)}`", ""]
        if command.help:
            out += [_cell(command.help), ""]
        arguments = [p for p in command.params if not _is_option(p)]
        options = [p for p in command.params if _is_option(p) and not getattr(p, "hidden", False)]
        if arguments:
            out += ["| Argument | Meaning |", "|---|---|"]
            out += [f"| `{(p.name or '').upper()}` | {_cell(p.help or '')} |" for p in arguments]
            out.append("")
        if options:
            out += ["| Option | Default | Meaning |", "|---|---|---|"]
            out += [_option_row(p) for p in options]
            out.append("")
        subcommands = getattr(command, "commands", {})
        if subcommands and path != "rescind":
            out += [f"Commands: {', '.join(f'`{path} {n}`' for n in sorted(subcommands))}.", ""]
    return "\n".join(out).rstrip()
