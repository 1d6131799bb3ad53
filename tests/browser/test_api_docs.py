"""In Chromium: /docs renders every API operation from files on this origin, with nothing
loaded from anywhere else and no CSP violation (the `page` fixture fails on any)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Request, expect

from tests.browser.conftest import Live

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_docs_list_every_operation_without_leaving_the_origin(live: Live, page: Page) -> None:
    document = httpx.get(f"{live.base_url}/openapi.json").json()
    operations = sum(len(ops) for ops in document["paths"].values())
    origin = urlsplit(live.base_url).netloc
    seen: list[str] = []

    def note(request: Request) -> None:
        seen.append(request.url)

    page.on("request", note)
    page.goto(f"{live.base_url}/docs")
    blocks = page.locator(".opblock")
    expect(blocks).to_have_count(operations)
    expect(page.locator(".opblock-summary-path", has_text="/v1/check")).to_be_visible()
    # The bearer scheme is offered: a platform engineer can paste a key and try calls.
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert seen and all(
        urlsplit(url).netloc == origin for url in seen if not url.startswith("data:")
    ), seen
    assert f"{live.base_url}/openapi.json" in seen
