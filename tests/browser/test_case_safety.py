"""In Chromium: the secret never wraps inside a group on a 360 px phone, a language switch keeps
what was typed, the confirmation warns before leaving an unsaved secret, and quick exit
leaves for the neutral site without a way Back."""

from __future__ import annotations

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.browser.conftest import Live

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _fill(page: Page) -> None:
    page.get_by_label("Me", exact=True).check()
    page.get_by_label("No", exact=True).check()
    page.get_by_label("Item 1: web address").fill("https://platform.example/p/360")
    page.get_by_label("I have a good-faith belief").check()
    page.get_by_label("Your full name", exact=True).fill("Alex Example")
    page.get_by_label("Email address").fill("alex@example.org")
    page.get_by_label("Type your full name to sign").fill("Alex Example")


def test_the_secret_does_not_wrap_inside_a_group_at_360px(page: Page, live: Live) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live.base_url}/?lang=en")
    _fill(page)
    page.get_by_role("button", name="Send my request").click()
    expect(page).to_have_url(f"{live.base_url}/received")
    groups = page.locator("#case-secret .group")
    expect(groups).to_have_count(4)
    # At this width the secret does not fit on one line (so this checks where it breaks)...
    assert page.locator("#case-secret").evaluate("e => e.getClientRects().length") >= 2
    # ...and each group keeps one line box: it breaks between groups, never inside one
    # (without the non-breaking groups, the last one splits here).
    rects = groups.evaluate_all("els => els.map(e => e.getClientRects().length)")
    assert rects == [1, 1, 1, 1]
    tops = groups.evaluate_all("els => els.map(e => e.getBoundingClientRect().height)")
    line = page.locator("#case-number").evaluate("e => e.getBoundingClientRect().height")
    assert all(height <= line * 1.6 for height in tops), (tops, line)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # The secret reads back whole, and the page offers to save it.
    assert len(page.locator("#case-secret").inner_text()) == 23
    expect(page.locator("#copy-secret")).to_be_visible()
    expect(page.locator("#print-secret")).to_be_visible()
    expect(page.locator("#download-secret")).to_be_visible()


def test_leaving_an_unsaved_secret_asks_first(page: Page, live: Live) -> None:
    page.goto(f"{live.base_url}/?lang=en")
    _fill(page)
    page.get_by_role("button", name="Send my request").click()
    expect(page).to_have_url(f"{live.base_url}/received")
    page.locator("#case-number").click()  # a gesture on the page: Chromium only asks after one
    dialogs: list[str] = []

    def stay(dialog: Dialog) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.close(run_before_unload=True)
    page.wait_for_timeout(300)
    assert dialogs == ["beforeunload"]


def test_a_language_switch_keeps_the_typed_answers(page: Page, live: Live) -> None:
    page.goto(f"{live.base_url}/?lang=en")
    _fill(page)
    page.get_by_label("Supporting information").fill("Posted without asking me.")
    page.get_by_role("button", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#requester-email")).to_have_value("alex@example.org")
    expect(page.locator("#supporting_info")).to_have_value("Posted without asking me.")
    expect(page.locator("#items-0-url")).to_have_value("https://platform.example/p/360")
    expect(page.locator("#minor-no")).to_be_checked()
    expect(page.locator("#error-summary")).to_have_count(0)


def test_quick_exit_leaves_without_a_way_back(page: Page, live: Live) -> None:
    exits: list[str] = []
    page.route(
        "https://www.bbc.com/**",
        lambda route: (exits.append(route.request.url), route.fulfill(body="weather"))[1],
    )
    page.goto(f"{live.base_url}/?lang=en")
    page.goto(f"{live.base_url}/status?lang=en")
    page.get_by_role("link", name="Quick exit").click()
    page.wait_for_url("https://www.bbc.com/weather")
    page.go_back()
    # The status page was replaced in the history: Back goes to the page before it.
    assert page.url == f"{live.base_url}/?lang=en"
    # Escape twice does the same.
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url("https://www.bbc.com/weather")
    assert len(exits) == 2
