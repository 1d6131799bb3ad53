"""Issue 18 end to end in Chromium: a person files a URL-only item and a hash-only item; a
reviewer sees what a removal will do per item and the leads, confirms one lead and decides; a
local receiver confirms one action by its webhook answer, the platform the other through the
API; the status page says "removal pending", then "removed"."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from rescind.client import RescindClient
from rescind.platform.apikeys import create_api_key
from rescind.platform.endpoints import add_endpoint
from tests.browser.conftest import REVIEWER_PASSWORD, Live
from tests.platform.helpers import random_pdq
from tests.platform.receiver import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECRET = "browser-webhook-secret"
NEVER_SEEN = "https://platform.example/p/never-registered"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET)
    r.start()
    yield r
    r.stop()


def test_plan_leads_confirmations_and_the_truth_on_the_status_page(
    page: Page, live: Live, receiver: Receiver
) -> None:
    picture = random_pdq(random.Random(1818))
    with live.database.session() as session:
        _, key = create_api_key(session, "platform", frozenset({"check", "content"}))
        add_endpoint(session, live.settings, receiver.url, SECRET)
    # The URL item's action is confirmed by the receiver's answer; the other is only delivered.
    receiver.answer = lambda event: {"outcome": "removed"} if event["url"] == NEVER_SEEN else None
    with RescindClient(live.base_url, key) as platform:
        assert platform.check("upload-7", pdq=[picture])["verdict"] == "allow"

        # 1. The person files: a web address, and a picture hashed on their device.
        page.goto(f"{live.base_url}/?lang=en")
        page.get_by_label("Me", exact=True).check()
        page.get_by_label("No", exact=True).check()  # not under 18 (a required answer)
        page.get_by_label("Item 1: web address").fill(NEVER_SEEN)
        page.evaluate("h => { document.getElementById('items-1-pdq').value = h; }", picture)
        page.get_by_label("I have a good-faith belief", exact=False).check()
        page.get_by_label("Your full name", exact=True).fill("Alex Example")
        page.get_by_label("Email address").fill("alex@example.org")
        page.get_by_label("Type your full name to sign").fill("Alex Example")
        page.get_by_role("button", name="Send my request").click()
        number = page.locator("#case-number").inner_text()
        secret = page.locator("#case-secret").inner_text()

        # 2. The reviewer sees the plan per item, decides, then confirms the lead.
        reviewer = page.context.browser.new_context()  # type: ignore[union-attr]
        console = reviewer.new_page()
        console.goto(f"{live.base_url}/console/cases/{number}")
        console.get_by_label("Username").fill("rita")
        console.get_by_label("Password").fill(REVIEWER_PASSWORD)
        console.get_by_role("button", name="Sign in").click()
        console.goto(f"{live.base_url}/console/cases/{number}")
        plans = console.locator("p.plan")
        expect(plans.nth(0)).to_contain_text("1 action(s), 0 lead(s)")
        expect(plans.nth(1)).to_contain_text("0 action(s), 1 lead(s)")
        console.get_by_label("Remove: the request is valid").check()
        console.get_by_role("button", name="Record decision").click()
        expect(console.locator("#case-status")).to_have_text("removal_pending")
        leads = console.locator("#leads")
        expect(leads).to_contain_text("upload-7")
        leads.get_by_role("button", name="Confirm: it is the reported item").click()
        expect(console.locator("#leads .lead-status")).to_have_text("confirmed")
        expect(console.locator("#actions tbody tr")).to_have_count(2)

        # 3. Deliveries: the receiver confirms the URL's removal by its answer.
        live.run_jobs()
        assert {d["url"] for d in receiver.deliveries} == {NEVER_SEEN, None}
        status = _status(page, live, number, secret)
        expect(status.locator("#case-status")).to_have_text(
            "Removal pending: waiting for the platform to confirm"
        )
        expect(status.locator("#item-states li").nth(0)).to_have_attribute("data-state", "removed")
        expect(status.locator("#item-states li").nth(1)).to_have_attribute(
            "data-state", "removal_pending"
        )

        # 4. The platform confirms the other through the API.
        (delivered,) = platform.actions(status="delivered")
        assert delivered["content_id"] == "upload-7"
        platform.mark_done(delivered["id"], "removed")
    status = _status(page, live, number, secret)
    expect(status.locator("#case-status")).to_have_text("Removed: the platform confirmed it")
    console.reload()
    expect(console.locator("#case-status")).to_have_text("removed")
    expect(console.locator("#actions .action-outcome")).to_have_text(["removed", "removed"])
    reviewer.close()


def _status(page: Page, live: Live, number: str, secret: str) -> Page:
    page.goto(f"{live.base_url}/status?lang=en")
    if page.locator("#case-status").count():  # still signed in to the case
        return page
    page.get_by_label("Case number").fill(number)
    page.get_by_label("Secret", exact=True).fill(secret)
    page.get_by_role("button", name="Show my request").click()
    return page
