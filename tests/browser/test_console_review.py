"""In Chromium, by keyboard: a reviewer finds a case by the requester's email, leaves a note for
colleagues and asks for information with a canned reply; the person reads it in French."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rescind.cases.intake import submit_request
from tests.browser.conftest import REVIEWER_PASSWORD, Live
from tests.cases.support import valid_input

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_search_note_and_canned_reply_by_keyboard(page: Page, live: Live) -> None:
    with live.database.session() as session:
        filed = submit_request(
            session, live.settings, valid_input(language="fr", email="noor@example.org")
        )
    number, secret = filed.case_number, filed.secret
    assert secret
    reviewer = page.context.browser.new_context()  # type: ignore[union-attr]
    console = reviewer.new_page()
    console.goto(f"{live.base_url}/console")
    console.get_by_label("Username").fill("rita")
    console.get_by_label("Password").fill(REVIEWER_PASSWORD)
    console.keyboard.press("Enter")
    search = console.get_by_label("Search by case number, URL, content id or requester email")
    search.focus()
    console.keyboard.type("Noor@Example.org")
    console.keyboard.press("Enter")
    expect(console.locator("tr.case-row")).to_have_count(1)
    expect(console.locator("tr.case-row")).to_have_attribute("data-case", number)
    console.get_by_role("link", name=number).focus()
    console.keyboard.press("Enter")
    expect(console.locator("#case-number")).to_have_text(number)
    console.get_by_label("Add a note for colleagues").focus()
    console.keyboard.type("Called the platform's trust team.")
    console.keyboard.press("Tab")
    console.keyboard.press("Enter")
    expect(console.locator(".case-note .note-body")).to_have_text(
        "Called the platform's trust team."
    )
    expect(console.locator(".case-note .note-author")).to_have_text("rita")
    console.get_by_label("Ask for more information (the clock keeps running)").check()
    console.get_by_label("Reply to the requester, shown in their language").select_option(
        "need_location"
    )
    console.get_by_role("button", name="Record decision").click()
    expect(console.locator("#case-status")).to_have_text("need_info")
    reviewer.close()
    page.goto(f"{live.base_url}/status?lang=fr")
    page.get_by_label("Numéro de dossier").fill(number)
    page.get_by_label("Code secret").fill(secret)
    page.get_by_role("button", name="Afficher ma demande").click()
    expect(page.locator("#team-reply")).to_contain_text("Indiquez-nous précisément où se trouve")
    expect(page.locator("body")).not_to_contain_text("trust team")
