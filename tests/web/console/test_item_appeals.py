"""A requester appeals the rejection of one item of a partly removed case (DSA Art. 20): from
the status page (case number + secret), free, within the window, once per item. Only a
reviewer who took no part in the decision decides; upheld, the item goes for removal (an action
delivered like removals), the rest of the case untouched; dismissed, the decision stands. Bad
input changes nothing; every step is audited and told in the requester's history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rescind.cases.appeals import AppealWindowClosed, appealable_items, file_item_appeal
from rescind.cases.errors import CaseClosed
from rescind.config import Settings
from rescind.store import Database
from rescind.store.columns import utcnow
from rescind.store.models import Action, Appeal, AuditEvent, Request
from tests.web.console.conftest import token_of
from tests.web.public.support import csrf_of, file_request

SECOND = "https://platform.example/p/456"


def _two_items_one_rejected(
    person: TestClient, rita: TestClient, database: Database
) -> tuple[str, str]:
    """A case of two links: Rita removes the first and rejects the second."""
    number, secret = file_request(
        person,
        **{
            "items[1].url": SECOND,
            "items[1].content_id": "",
            "items[1].pdq": "",
            "items[1].md5": "",
            "items[1].sha256": "",
        },
    )
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        first, second = (i.id for i in case.items)
    page = rita.get(f"/console/cases/{number}")
    answer = rita.post(
        f"/console/cases/{number}/decision",
        data={
            "csrf_token": token_of(page.text),
            "outcome": "remove",
            f"item-{first}": "remove",
            f"item-{second}": "rejected",
            f"item-{second}-note": "not the person who asked",
        },
    )
    assert answer.status_code == 200, answer.text
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert [i.status for i in case.items] == ["remove", "rejected"]
        assert case.status == "removal_pending"
    return number, secret


def _sign_in(person: TestClient, number: str, secret: str) -> TestClient:
    token = csrf_of(person.get("/status").text)
    page = person.post(
        "/status", data={"csrf_token": token, "case_number": number, "secret": secret}
    )
    assert page.status_code == 200
    return page  # type: ignore[return-value]


def _decide_appeal(client: TestClient, appeal_id: int, outcome: str, reason: str) -> TestClient:
    page = client.get("/console/appeals")
    answer = client.post(
        f"/console/appeals/{appeal_id}/decision",
        data={"csrf_token": token_of(page.text), "outcome": outcome, "reason": reason},
    )
    assert answer.status_code == 200
    return answer  # type: ignore[return-value]


def _removals(database: Database) -> list[tuple[str | None, int | None]]:
    with database.session() as session:
        return [
            (a.url, a.item_id)
            for a in session.scalars(
                select(Action).where(Action.type == "content.remove").order_by(Action.id)
            )
        ]


def test_a_rejected_item_appealed_and_upheld_goes_for_removal(
    signed_in: Callable[[str], TestClient],
    app_factory: Callable[[], TestClient],
    database: Database,
) -> None:
    person = app_factory()
    rita, remy = signed_in("rita"), signed_in("remy")
    number, secret = _two_items_one_rejected(person, rita, database)
    before = _removals(database)
    assert [url for url, _ in before] == ["https://platform.example/p/123"]

    page = _sign_in(person, number, secret)
    offered = page.context["item_appeals"]  # type: ignore[attr-defined]
    assert [(o["number"], o["label"]) for o in offered] == [(2, SECOND)]
    assert 'id="item-appeal"' in page.text and 'id="appeal"' not in page.text
    token = csrf_of(page.text)
    empty = person.post(
        "/status/appeal-item", data={"csrf_token": token, "item": "2", "statement": " "}
    )
    assert empty.context["item_appeal_error"]  # type: ignore[attr-defined]
    removed_one = person.post(
        "/status/appeal-item", data={"csrf_token": token, "item": "1", "statement": "why"}
    )
    junk = person.post(
        "/status/appeal-item", data={"csrf_token": token, "item": "x'", "statement": "why"}
    )
    no_csrf = person.post("/status/appeal-item", data={"item": "2", "statement": "again"})
    assert (removed_one.status_code, junk.status_code, no_csrf.status_code) == (200, 200, 403)
    with database.session() as session:
        assert session.scalars(select(Appeal)).first() is None  # nothing was filed

    filed = person.post(
        "/status/appeal-item",
        data={"csrf_token": token, "item": "2", "statement": "It is me in that one too."},
    )
    assert filed.context["done"] == "item_appeal"  # type: ignore[attr-defined]
    assert "You asked for another review of our decision on one item." in filed.text
    assert filed.context["item_appeals"] == []  # type: ignore[attr-defined]
    person.post(
        "/status/appeal-item", data={"csrf_token": token, "item": "2", "statement": "twice"}
    )
    with database.session() as session:
        (appeal,) = session.scalars(select(Appeal))
        assert (appeal.kind, appeal.filed_by, appeal.decision_id) == (
            "rejection",
            "requester",
            None,
        )
        case = session.scalars(select(Request)).one()
        assert appeal.item_id == case.items[1].id

    queue = remy.get("/console/appeals")
    assert "a requester against the rejection of one item" in queue.text
    assert SECOND in queue.text and "not the person who asked" in queue.text
    assert _decide_appeal(rita, appeal.id, "upheld", "x").context["error"] == "not_allowed"  # type: ignore[attr-defined]
    done = _decide_appeal(remy, appeal.id, "upheld", "the second picture is of her too")
    assert done.context["done"] == "upheld"  # type: ignore[attr-defined]

    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert [i.status for i in case.items] == ["remove", "remove"]
        assert case.status == "removal_pending"
        second_id = case.items[1].id
    assert _removals(database) == [*before, (SECOND, second_id)]  # one new removal, the item's
    page = person.get("/status")
    assert "Another reviewer agreed with you about one item" in page.text
    assert "the second picture is of her too" in page.text
    with database.session() as session:
        events = [
            (e.action, (e.detail or {}).get("item_id"))
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action.like("appeal.%")).order_by(AuditEvent.id)
            )
        ]
    assert ("appeal.file", second_id) in events and ("appeal.uphold", second_id) in events


def test_a_dismissed_item_appeal_changes_nothing_but_the_history(
    signed_in: Callable[[str], TestClient],
    app_factory: Callable[[], TestClient],
    database: Database,
) -> None:
    person = app_factory()
    rita, remy = signed_in("rita"), signed_in("remy")
    number, secret = _two_items_one_rejected(person, rita, database)
    before = _removals(database)
    page = _sign_in(person, number, secret)
    person.post(
        "/status/appeal-item",
        data={"csrf_token": csrf_of(page.text), "item": "2", "statement": "Please look again."},
    )
    with database.session() as session:
        (appeal,) = session.scalars(select(Appeal))
    _decide_appeal(remy, appeal.id, "dismissed", "the second link shows a landscape")
    assert _removals(database) == before
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert [i.status for i in case.items] == ["remove", "rejected"]
    page = person.get("/status")
    assert "the decision not to remove it stands" in page.text
    assert "the second link shows a landscape" in page.text


def test_the_item_appeal_window_and_the_whole_case_rejection(
    signed_in: Callable[[str], TestClient],
    app_factory: Callable[[], TestClient],
    database: Database,
    settings: Settings,
) -> None:
    person = app_factory()
    number, _secret = _two_items_one_rejected(person, signed_in("rita"), database)
    later = utcnow() + timedelta(days=settings.appeal_window_days + 1)
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert [n for n, _i, _u in appealable_items(session, settings, case)] == [2]
        assert appealable_items(session, settings, case, now=later) == []
        with pytest.raises(AppealWindowClosed):
            file_item_appeal(session, settings, case, 2, "late", now=later)
        with pytest.raises(CaseClosed):  # the removed item is not a rejection
            file_item_appeal(session, settings, case, 1, "why")
        with pytest.raises(CaseClosed):
            file_item_appeal(session, settings, case, 3, "no such item")
    assert number


def test_an_item_appeal_of_a_withdrawn_case_cannot_be_upheld(
    signed_in: Callable[[str], TestClient],
    app_factory: Callable[[], TestClient],
    database: Database,
) -> None:
    person = app_factory()
    number, secret = _two_items_one_rejected(person, signed_in("rita"), database)
    page = _sign_in(person, number, secret)
    token = csrf_of(page.text)
    person.post(
        "/status/appeal-item",
        data={"csrf_token": token, "item": "2", "statement": "Please look again."},
    )
    person.post("/status/withdraw", data={"csrf_token": token, "confirm": "yes"})
    with database.session() as session:
        (appeal,) = session.scalars(select(Appeal))
    before = _removals(database)
    answer = _decide_appeal(signed_in("remy"), appeal.id, "upheld", "too late")
    assert answer.context["error"] == "not_allowed"  # type: ignore[attr-defined]
    assert _removals(database) == before
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert case.status == "withdrawn" and case.items[1].status == "rejected"
        assert session.scalars(select(Appeal)).one().status == "open"
