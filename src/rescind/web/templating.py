"""Jinja templates with per-request translations, and the choice of the reader's language.

Language: `?lang=` (remembered in a cookie), then that cookie, then `Accept-Language`, then
English. Templates call `_()`; the public pages use the `messages` catalogue, the console the
`console` catalogue.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from rescind.locale import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES, translations
from rescind.store.statuses import (
    OPEN_REQUEST_STATUSES,
    ChildSafetyFlag,
    DecisionOutcome,
    ItemStatus,
    RequestStatus,
    Role,
)

LANG_COOKIE = "rescind_lang"


def build_templates() -> Jinja2Templates:
    """The app's templates (autoescaped; no template can emit raw user input)."""
    env = Environment(
        loader=FileSystemLoader(str(resources.files("rescind.web") / "templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Templates compare against the one definition of each status, never a copied literal.
    env.globals.update(
        RequestStatus=RequestStatus,
        ItemStatus=ItemStatus,
        OPEN_REQUEST_STATUSES=OPEN_REQUEST_STATUSES,
        DecisionOutcome=DecisionOutcome,
        Role=Role,
        ChildSafetyFlag=ChildSafetyFlag,
    )
    return Jinja2Templates(env=env)


def _accept_language(header: str) -> list[str]:
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        weighted.append((-q, index, tag.strip().lower().split("-")[0]))
    return [tag for q, _, tag in sorted(weighted) if q < 0]


def negotiate_language(request: Request) -> tuple[str, bool]:
    """(language, chosen explicitly with ?lang= and so to be remembered in the cookie)."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked, True
    cookie = request.cookies.get(LANG_COOKIE, "")
    if cookie in LANGUAGES:
        return cookie, False
    for tag in _accept_language(request.headers.get("accept-language", "")):
        if tag in LANGUAGES:
            return tag, False
    return DEFAULT_LANGUAGE, False


def page_context(language: str, domain: str = "messages") -> dict[str, Any]:
    """What every template gets: `_`, the language and the switcher's choices."""
    t = translations(language, domain)
    return {
        "_": t.gettext,
        "lang": language,
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
    }


def remember_language(response: Response, language: str, explicit: bool) -> None:
    """Keep an explicitly chosen language for the next pages (a preference, not tracking)."""
    if explicit:
        response.set_cookie(
            LANG_COOKIE, language, max_age=365 * 86400, samesite="lax", httponly=True
        )
