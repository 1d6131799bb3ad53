"""Helpers for public-page tests: a client on the test database, tokens, a valid form."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rescind.store import Database
from rescind.store.models import AuditEvent, Job, Request, RequestItem

STORED_TABLES = (Request, RequestItem, Job, AuditEvent)


def csrf_of(html: str) -> str:
    """The CSRF token in a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf token in page"
    return match.group(1)


def form_token_of(html: str) -> str:
    """The one-time form token in the request form."""
    match = re.search(r'name="form_token" value="([^"]+)"', html)
    assert match, "no form token in page"
    return match.group(1)


def tokens_of(html: str) -> dict[str, str]:
    """The CSRF and one-time form tokens of a request form, as posted fields."""
    return {"csrf_token": csrf_of(html), "form_token": form_token_of(html)}


def valid_form(token: str | dict[str, str], **changes: str) -> dict[str, str]:
    """Every field of a valid request, as a browser posts it (`token`: the CSRF token, or
    both tokens from `tokens_of`)."""
    tokens = token if isinstance(token, dict) else {"csrf_token": token}
    form = {
        **tokens,
        "website": "",
        "requester.representative": "self",
        "minor": "no",
        "items[0].url": "https://platform.example/p/123",
        "items[0].content_id": "",
        "items[0].pdq": "",
        "items[0].md5": "",
        "items[0].sha256": "",
        "good_faith_statement": "yes",
        "supporting_info": "I never agreed to share it.",
        "requester.name": "Alex Example",
        "requester.email": "alex@example.org",
        "requester.phone": "",
        "signature": "Alex Example",
        "signed_on": datetime.now(UTC).date().isoformat(),
    }
    form.update(changes)
    return form


def stored_rows(database: Database) -> dict[str, int]:
    """How many rows each table a request writes holds."""
    with database.session() as session:
        return {
            m.__tablename__: int(session.scalar(select(func.count()).select_from(m)) or 0)
            for m in STORED_TABLES
        }


def shown_codes(html: str) -> tuple[str, str] | None:
    """(case number, secret) as a confirmation page shows them, or None when it shows none."""
    number = re.search(r'id="case-number">([^<]+)<', html)
    secret = re.search(r'id="case-secret"[^>]*>(.*?)</code>', html)
    if not (number and secret):
        return None
    return number.group(1), re.sub(r"<[^>]+>", "", secret.group(1))


def file_request(client: TestClient, **changes: str) -> tuple[str, str]:
    """File a valid request through the form; returns (case number, secret)."""
    page = client.post("/", data=valid_form(tokens_of(client.get("/").text), **changes))
    assert page.status_code == 200, page.text[-2000:]
    assert page.url.path == "/received"
    codes = shown_codes(page.text)
    assert codes
    return codes
