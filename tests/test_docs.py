"""The docs tell the truth, both ways: every setting, command and `/v1` route of the code is
documented, everything of those kinds the docs name exists, the generated sections are current,
and docs/architecture.md draws the layers pyproject.toml's import contract enforces."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cogapp import Cog
from typer.main import get_command

from rescind.cli import app
from rescind.config import Settings
from rescind.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GENERATED = [DOCS / "operator-guide.md", DOCS / "cli.md"]
# Environment variables the docs may name that are not settings (read by the tests only).
NOT_SETTINGS = {"RESCIND_TEST_PG_BIN"}
HTTP_METHODS = "GET|POST|PUT|PATCH|DELETE"


def _doc_files() -> list[Path]:
    return [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]


def _all_docs() -> str:
    return "\n".join(p.read_text() for p in _doc_files())


def _code_texts(text: str) -> Iterator[str]:
    """The fenced code blocks and inline code spans of a markdown text."""
    fence = re.compile(r"^```.*?^```", re.M | re.S)
    yield from (m.group(0) for m in fence.finditer(text))
    yield from re.findall(r"`([^`\n]+)`", fence.sub("", text))


# Settings


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


def _named_settings(text: str) -> set[str]:
    """`RESCIND_X` names in `text`; `RESCIND_SMTP_*` stands for every setting it prefixes."""
    return set(re.findall(r"RESCIND_[A-Z0-9_]*[A-Z0-9]\b(?!_?\*)", text)) | {
        m + "*" for m in re.findall(r"(RESCIND_[A-Z0-9_]+_)\*", text)
    }


def test_every_setting_the_docs_name_exists() -> None:
    real = {f"RESCIND_{name.upper()}" for name in Settings.model_fields} | NOT_SETTINGS
    unknown = sorted(
        name
        for name in _named_settings(_all_docs())
        if not (any(r.startswith(name[:-1]) for r in real) if name.endswith("*") else name in real)
    )
    assert unknown == [], f"the docs name settings the code does not have: {unknown}"


def test_named_settings_finds_names_and_prefixes() -> None:
    text = "`RESCIND_PORT`, `RESCIND_SMTP_*`, RESCIND_NOPE."
    assert _named_settings(text) == {"RESCIND_PORT", "RESCIND_SMTP_*", "RESCIND_NOPE"}


# Commands


def _command_tree() -> Any:
    return get_command(app)


def _command_paths(command: Any, prefix: str) -> list[str]:
    sub = getattr(command, "commands", None)
    if not sub:
        return [prefix]
    paths: list[str] = []
    for name, child in sub.items():
        paths += _command_paths(child, f"{prefix} {name}")
    return paths


def test_every_command_is_documented() -> None:
    docs = _all_docs()
    commands = _command_paths(_command_tree(), "rescind")
    assert [c for c in commands if c not in docs] == []


def _named_commands(text: str) -> set[str]:
    """`rescind a b` invocations in the code of `text`, words only (arguments in capitals and
    options left out; `rescind.module` is a Python name, not a command)."""
    named: set[str] = set()
    for code in _code_texts(text):
        for match in re.finditer(r"(?:^|(?<=[\s/`(]))rescind((?: [a-z][a-z0-9-]*)+)", code):
            named.add("rescind" + match.group(1))
    return named


def _unknown_command(invocation: str, root: Any) -> str | None:
    """The part of `invocation` that names no command, or None when its commands exist (words
    after a command without subcommands are its arguments)."""
    command, path = root, "rescind"
    for word in invocation.split()[1:]:
        sub = getattr(command, "commands", None)
        if not sub:
            return None
        if word not in sub:
            return f"{path} {word}"
        command, path = sub[word], f"{path} {word}"
    return None


def test_every_command_the_docs_name_exists() -> None:
    root = _command_tree()
    unknown = sorted(
        {u for c in _named_commands(_all_docs()) if (u := _unknown_command(c, root)) is not None}
    )
    assert unknown == [], f"the docs name commands the code does not have: {unknown}"


def test_unknown_command_is_caught() -> None:
    root = _command_tree()
    assert _named_commands("run `rescind user add NAME --role admin`; `rescind.web.app`") == {
        "rescind user add"
    }
    assert _unknown_command("rescind user add", root) is None
    assert _unknown_command("rescind hash path to file", root) is None
    assert _unknown_command("rescind user frobnicate", root) == "rescind user frobnicate"
    assert _unknown_command("rescind frobnicator add", root) == "rescind frobnicator"


# HTTP routes


def _routes(routes: list[Any]) -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through included routers and mounts."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:  # FastAPI's included router
            yield from _routes(list(contexts()))
        elif getattr(route, "methods", None):
            for method in route.methods - {"HEAD", "OPTIONS"}:
                yield method, route.path
        elif getattr(route, "routes", None):
            prefix = getattr(route, "path", "")
            yield from ((m, prefix + p) for m, p in _routes(route.routes))


def _shape(path: str) -> str:
    """A path with its parameters' names and any query string left out."""
    return re.sub(r"\{[^}]*\}", "{}", path.split("?")[0]).rstrip("/")


# The HMA-compatible routes (docs/hma.md): HMA's matching, curation and hashing prefixes.
HMA_PREFIXES = ("/m/", "/c/", "/h/")


@pytest.fixture(scope="module")
def app_routes(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str]]:
    settings = Settings(environment="test", data_dir=tmp_path_factory.mktemp("docs"))
    app = create_app(settings)
    return {(m, _shape(p)) for m, p in _routes(app.routes)}


@pytest.fixture(scope="module")
def v1_routes(app_routes: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(m, p) for m, p in app_routes if p.startswith("/v1/")}


@pytest.fixture(scope="module")
def hma_routes(app_routes: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(m, p) for m, p in app_routes if p.startswith(HMA_PREFIXES)}


def _named_routes(text: str, prefixes: tuple[str, ...] = ("/v1/",)) -> set[tuple[str, str]]:
    """`METHOD /v1/...` (or another of `prefixes`) in `text`, including `GET /v1/x` /
    `POST /v1/x` pairs."""
    starts = "|".join(re.escape(p) for p in prefixes)
    return {
        (m.group(1), _shape(m.group(2)))
        for m in re.finditer(rf"\b({HTTP_METHODS}) ((?:{starts})[^\s`'\",;)]*)", text)
    }


def test_every_v1_route_is_in_the_api_doc(v1_routes: set[tuple[str, str]]) -> None:
    assert v1_routes, "no /v1 routes found: the route walk is broken"
    documented = _named_routes((DOCS / "api.md").read_text())
    assert sorted(v1_routes - documented) == [], "document these in docs/api.md"


def _exists(named: tuple[str, str], routes: set[tuple[str, str]]) -> bool:
    """Whether a route serves `named`, a template (`/v1/banks/{name}`) or an example of one
    (`/v1/banks/ncii`)."""
    method, path = named
    return any(
        method == m and re.fullmatch(re.escape(p).replace(r"\{\}", "[^/]+"), path)
        for m, p in routes
    )


def test_every_route_the_docs_name_exists(v1_routes: set[tuple[str, str]]) -> None:
    unknown = sorted(r for r in _named_routes(_all_docs()) if not _exists(r, v1_routes))
    assert unknown == [], "the docs name routes the code does not have"


def test_every_hma_route_is_in_the_hma_doc(hma_routes: set[tuple[str, str]]) -> None:
    assert hma_routes, "no HMA-compatible routes found: the route walk is broken"
    documented = _named_routes((DOCS / "hma.md").read_text(), HMA_PREFIXES)
    assert sorted(hma_routes - documented) == [], "document these in docs/hma.md"


def test_every_hma_route_the_docs_name_exists(hma_routes: set[tuple[str, str]]) -> None:
    named = _named_routes(_all_docs(), HMA_PREFIXES)
    unknown = sorted(r for r in named if not _exists(r, hma_routes))
    assert unknown == [], "the docs name HMA routes the code does not have"


def test_route_shapes_ignore_parameter_names_and_queries() -> None:
    assert _named_routes("`GET /v1/actions?status=&limit=` and `POST /v1/actions/{id}/done`") == {
        ("GET", "/v1/actions"),
        ("POST", "/v1/actions/{}/done"),
    }
    routes = {("POST", "/v1/banks/{}/entries")}
    assert _exists(("POST", "/v1/banks/ncii/entries"), routes)
    assert _exists(("POST", "/v1/banks/{}/entries"), routes)
    assert not _exists(("GET", "/v1/banks/ncii/entries"), routes)
    assert not _exists(("POST", "/v1/banks/ncii/entries/7"), routes)


# Generated sections and the architecture


def test_generated_sections_are_current(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    status = Cog().main(["cog", "--check", "-I", str(DOCS), *map(str, GENERATED)])
    assert status == 0, "run `make docs` and commit the result"


def _architecture_layers() -> list[str]:
    """The layer list of docs/architecture.md: the lines of its `layers` block, top first."""
    text = (DOCS / "architecture.md").read_text()
    block = re.search(r"```text layers\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md needs a ```text layers block"
    return [line.split()[0] for line in block.group(1).splitlines() if line.strip()]


def test_architecture_layers_are_the_import_contract() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    assert _architecture_layers() == layers
