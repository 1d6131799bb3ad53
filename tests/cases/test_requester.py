"""A requester with case number + secret can see, add to and withdraw their case; a wrong secret
and an unknown case look the same."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from rescind.cases import requester
from rescind.cases.enforcement import withdraw_hashes
from rescind.cases.errors import CaseClosed, CaseNotFound, InvalidRequest
from rescind.cases.intake import submit_request
from rescind.config import Settings
from rescind.store import Database
from rescind.store.models import AuditEvent, Request
from tests.cases.support import valid_input


def _file(settings: Settings, database: Database) -> tuple[str, str]:
    with database.session() as session:
        sub = submit_request(session, settings, valid_input())
        return sub.case_number, sub.secret


def test_case_opens_with_its_secret_typed_loosely(settings: Settings, database: Database) -> None:
    number, secret = _file(settings, database)
    with database.session() as session:
        typed = number.lower().replace("-", " ").replace("0", "o")
        assert requester.open_case(session, typed, secret.lower()).case_number == number


def test_wrong_secret_and_unknown_case_are_indistinguishable(
    settings: Settings, database: Database
) -> None:
    number, secret = _file(settings, database)
    timings = []
    errors = []
    for case_number, guess in ((number, "WRONG-SECRET"), ("RSC-0000-0000-0000", secret)):
        start = time.perf_counter()
        with pytest.raises(CaseNotFound) as caught, database.session() as session:
            requester.open_case(session, case_number, guess)
        timings.append(time.perf_counter() - start)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]
    # Both paths run one argon2 verification (~20 ms): neither is a fast "no such case" answer.
    assert min(timings) > 0.005


def test_add_information_brings_a_need_info_case_back(
    settings: Settings, database: Database
) -> None:
    number, secret = _file(settings, database)
    with database.session() as session:
        case = requester.open_case(session, number, secret)
        case.status = "need_info"
    with database.session() as session:
        case = requester.open_case(session, number, secret)
        requester.add_information(session, case, "The post went up on 3 May.")
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert case.status == "received"
        assert case.events[-1].kind == "info_added"
    with pytest.raises(InvalidRequest), database.session() as session:
        requester.add_information(session, session.scalars(select(Request)).one(), "<b>x</b>")


def test_withdraw_closes_the_case_once(settings: Settings, database: Database) -> None:
    number, secret = _file(settings, database)
    with database.session() as session:
        case = requester.open_case(session, number, secret)
        requester.withdraw(session, settings, case, on_withdraw=withdraw_hashes)
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert case.status == "withdrawn" and case.closed_at is not None
        actions = [e.action for e in session.scalars(select(AuditEvent))]
        # The person's hashes are withdrawn whatever the status: nothing banked in their name
        # survives, and the hashes they gave are erased from the case.
        assert actions == [
            "request.create",
            "request.status_view",
            "bank.entries_withdrawn",
            "request.withdraw",
        ]
        item = case.items[0]
        assert item.pdq is None and item.md5 is None and item.url
    with pytest.raises(CaseClosed), database.session() as session:
        case = session.scalars(select(Request)).one()
        requester.withdraw(session, settings, case, on_withdraw=withdraw_hashes)
