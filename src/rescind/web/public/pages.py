"""Rendering helpers shared by the public pages: language, CSRF token, cookies."""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from rescind.locale import translations
from rescind.web.deps import services_of
from rescind.web.templating import negotiate_language, page_context, remember_language


@dataclass(frozen=True)
class HelpLink:
    """A support organisation shown on the public pages."""

    label: str
    url: str


def help_links(setting: str, language: str) -> list[HelpLink]:
    """The entries of `help_links` (`lang|label|url;...`) for `language` (`*`: every language).

    Malformed entries and addresses other than http(s) are skipped, never shown."""
    links = []
    for entry in setting.split(";"):
        parts = [part.strip() for part in entry.split("|")]
        if len(parts) != 3 or not all(parts):
            continue
        lang, label, url = parts
        if lang in ("*", language) and url.startswith(("https://", "http://")):
            links.append(HelpLink(label, url))
    return links


@dataclass
class Page:
    """One public page being answered: its language and CSRF token."""

    request: Request
    language: str
    explicit_language: bool
    csrf_token: str
    new_csrf_cookie: str | None

    @property
    def t(self) -> gettext.NullTranslations:
        """The reader's catalogue."""
        return translations(self.language)

    def render(self, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
        """Render `name` with the common context; sets the language and CSRF cookies."""
        services = services_of(self.request.app)
        full = {
            **page_context(self.language),
            "csrf_token": self.csrf_token,
            "platform_name": services.settings.platform_name,
            "help_links": help_links(services.settings.help_links, self.language),
            "quick_exit_url": services.settings.quick_exit_url,
            # Without an SMTP server no page may promise an email.
            "email_enabled": bool(services.settings.smtp_host),
            **context,
        }
        response: Response = services.templates.TemplateResponse(
            self.request, name, full, status_code=status_code
        )
        services.csrf.set_cookie(response, self.new_csrf_cookie)
        remember_language(response, self.language, self.explicit_language)
        return response


def page(request: Request) -> Page:
    """The Page for `request` (a FastAPI dependency)."""
    language, explicit = negotiate_language(request)
    token, new_cookie = services_of(request.app).csrf.token_for(request)
    return Page(request, language, explicit, token, new_cookie)
