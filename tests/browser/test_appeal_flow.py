"""DSA Art. 20 in Chromium: a reviewer removes a reported picture and the platform confirms it;
the uploader appeals through the platform; the reviewer who decided cannot decide the appeal,
another upholds it in the console; the `content.restore` webhook goes out and the platform
confirms it: the case page shows the restore confirmed. And a requester whose second item was
rejected appeals that item on the status page; another reviewer upholds it; its removal goes
out and is confirmed, and the status page shows every item removed."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from rescind.cases.intake import submit_request
from rescind.cases.users import create_user
from rescind.cases.validation import ItemInput
from rescind.platform.apikeys import create_api_key
from rescind.platform.endpoints import add_endpoint
from tests.browser.conftest import REVIEWER_PASSWORD, Live
from tests.cases.support import valid_input
from tests.platform.receiver import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECRET = "browser-appeal-secret"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET)
    r.start()
    yield r
    r.stop()


def _console(browser: Browser, live: Live, username: str) -> tuple[BrowserContext, Page]:
    context = browser.new_context(locale="en-US")
    console = context.new_page()
    console.goto(f"{live.base_url}/console")
    console.get_by_label("Username").fill(username)
    console.get_by_label("Password").fill(REVIEWER_PASSWORD)
    console.get_by_role("button", name="Sign in").click()
    expect(console.get_by_role("link", name="Appeals")).to_be_visible()
    return context, console


def test_an_appeal_upheld_in_the_console_ends_with_a_confirmed_restore(
    page: Page, live: Live, receiver: Receiver
) -> None:
    with live.database.session() as session:
        create_user(session, "remy", REVIEWER_PASSWORD, "reviewer", email="remy@example.org")
        _, key = create_api_key(session, "platform", frozenset({"content"}))
        add_endpoint(session, live.settings, receiver.url, SECRET)
        number = submit_request(session, live.settings, valid_input()).case_number
    browser = page.context.browser
    assert browser is not None
    auth = {"Authorization": f"Bearer {key}"}
    platform = httpx.Client(base_url=live.base_url, headers=auth, timeout=30)

    # 1. Rita removes; the platform confirms the removal.
    rita_context, rita = _console(browser, live, "rita")
    rita.goto(f"{live.base_url}/console/cases/{number}")
    rita.get_by_label("Remove: the request is valid").check()
    rita.get_by_role("button", name="Record decision").click()
    expect(rita.locator("#case-status")).to_have_text("removal_pending")
    live.run_jobs()
    (removal,) = [d for d in receiver.deliveries if d["type"] == "content.remove"]
    done = platform.post(f"/v1/actions/{removal['id']}/done", json={"outcome": "removed"})
    assert done.json()["status"] == "confirmed"

    # 2. The uploader appeals through the platform.
    filed = platform.post(
        "/v1/appeals", json={"action_id": removal["id"], "statement": "It is my own drawing."}
    )
    assert filed.status_code == 201
    appeal_id = filed.json()["id"]

    # 3. Rita decided the case: no form for her.
    rita.get_by_role("link", name="Appeals").click()
    section = rita.locator(f"#appeal-{appeal_id}")
    expect(section).to_contain_text("It is my own drawing.")
    expect(section).to_contain_text("Another reviewer decides this appeal.")
    expect(section.locator("form")).to_have_count(0)
    rita_context.close()

    # 4. Remy upholds it.
    remy_context, remy = _console(browser, live, "remy")
    remy.get_by_role("link", name="Appeals").click()
    section = remy.locator(f"#appeal-{appeal_id}")
    section.get_by_label("Uphold: reverse the decision").check()
    section.get_by_label("Reason (required, shown to the person)").fill("A drawing, not a photo.")
    section.get_by_role("button", name="Record appeal decision").click()
    expect(remy.locator("#appeal-done")).to_have_text("Appeal upheld: the decision is reversed.")
    expect(remy.locator("#no-appeals")).to_be_visible()

    # 5. The restore goes out signed, and the platform confirms it.
    live.run_jobs()
    (restore,) = [d for d in receiver.deliveries if d["type"] == "content.restore"]
    assert restore["case_number"] == number and restore["url"] == removal["url"]
    seen = platform.get(f"/v1/appeals/{appeal_id}").json()
    assert seen["status"] == "upheld" and seen["restore_action_ids"] == [restore["id"]]
    confirmed = platform.post(f"/v1/actions/{restore['id']}/done", json={"outcome": "removed"})
    assert confirmed.json()["status"] == "confirmed"
    remy.goto(f"{live.base_url}/console/cases/{number}")
    row = remy.locator(f"#action-{restore['id']}")
    expect(row.locator("td").first).to_have_text("content.restore")
    expect(row.locator(".action-status")).to_have_text("confirmed")
    remy_context.close()
    platform.close()


def test_a_rejected_item_appealed_on_the_status_page_is_removed_after_another_review(
    page: Page, live: Live, receiver: Receiver
) -> None:
    """Rita removes the first link of a case and rejects the second; the requester asks, on
    the status page, for another review of the second; Vera upholds it; its removal webhook
    goes out, the platform confirms it, and the status page shows both items removed."""
    first, second = "https://platform.example/p/201", "https://platform.example/p/202"
    with live.database.session() as session:
        create_user(session, "vera", REVIEWER_PASSWORD, "reviewer", email="vera@example.org")
        _, key = create_api_key(session, "platform-items", frozenset({"content"}))
        add_endpoint(session, live.settings, receiver.url, SECRET)
        filed = submit_request(
            session,
            live.settings,
            valid_input(items=[ItemInput(url=first), ItemInput(url=second)]),
        )
        number, secret = filed.case_number, filed.secret
        second_id = filed.request.items[1].id
    assert secret is not None
    browser = page.context.browser
    assert browser is not None
    platform = httpx.Client(
        base_url=live.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )

    # 1. Rita removes the first item and rejects the second.
    rita_context, rita = _console(browser, live, "rita")
    rita.goto(f"{live.base_url}/console/cases/{number}")
    rita.get_by_label("Remove: the request is valid").check()
    rita.locator(f"#item-{second_id}-choice").select_option("rejected")
    rita.locator(f"#item-{second_id}-note").fill("not the person who asked")
    rita.get_by_role("button", name="Record decision").click()
    expect(rita.locator("#case-status")).to_have_text("removal_pending")
    rita_context.close()
    live.run_jobs()
    removals = [d for d in receiver.deliveries if d["type"] == "content.remove"]
    assert [d["url"] for d in removals] == [first]

    # 2. The requester asks for another review of the second item, on the status page.
    page.goto(f"{live.base_url}/status?lang=en")
    page.get_by_label("Case number").fill(number)
    page.get_by_label("Secret", exact=True).fill(secret)
    page.get_by_role("button", name="Show my request").click()
    section = page.locator("#item-appeal")
    expect(section.get_by_label("Which item?")).to_contain_text(second)
    section.get_by_label("Which item?").select_option("2")
    section.get_by_label("Why should we look again?").fill("That one is me too.")
    section.get_by_role("button", name="Ask for another review of this item").click()
    expect(page.locator("#item-appeal-filed")).to_be_visible()
    expect(page.locator("#item-appeal")).to_have_count(0)

    # 3. Vera, who took no part, upholds it.
    vera_context, vera = _console(browser, live, "vera")
    vera.get_by_role("link", name="Appeals").click()
    appeal = vera.locator("section.appeal", has_text="a requester against the rejection")
    expect(appeal.locator(".item-appealed")).to_contain_text(second)
    expect(appeal.locator(".item-appealed")).to_contain_text("not the person who asked")
    appeal.get_by_label("Uphold: reverse the decision").check()
    appeal.get_by_label("Reason (required, shown to the person)").fill("It shows her too.")
    appeal.get_by_role("button", name="Record appeal decision").click()
    expect(vera.locator("#appeal-done")).to_have_text("Appeal upheld: the decision is reversed.")
    vera_context.close()

    # 4. The item's removal goes out like any removal; the platform confirms both.
    live.run_jobs()
    removals = [d for d in receiver.deliveries if d["type"] == "content.remove"]
    assert sorted(d["url"] for d in removals) == [first, second]
    for delivered in removals:
        done = platform.post(f"/v1/actions/{delivered['id']}/done", json={"outcome": "removed"})
        assert done.json()["status"] == "confirmed"
    platform.close()

    # 5. The status page tells it.
    page.reload()
    items = page.locator("#item-states li")
    expect(items).to_have_count(2)
    for n in range(2):
        expect(items.nth(n)).to_have_attribute("data-state", "removed")
    expect(page.locator(".history")).to_contain_text(
        "Another reviewer agreed with you about one item"
    )
    expect(page.locator(".history")).to_contain_text("It shows her too.")
