"""Appeals (DSA Art. 20). An uploader appeals a removal through the platform
(`POST /v1/appeals`); a requester whose request was rejected asks for another review on the
status page. Only a reviewer who took no part in the decision can decide; an upheld removal
appeal sends a `content.restore` the platform confirms and withdraws the case's hashes; an
upheld requester appeal reopens the case. Bad input changes nothing; every step is audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select

from rescind.cases.intake import submit_request
from rescind.cases.progress import item_progress
from rescind.config import Settings
from rescind.platform.apikeys import create_api_key
from rescind.store import Database
from rescind.store.models import (
    Action,
    Appeal,
    AuditEvent,
    BankChange,
    BankEntry,
    Request,
    RequestEvent,
)
from tests.cases.support import valid_input
from tests.web.console.conftest import token_of
from tests.web.public.support import csrf_of, file_request


def _key(database: Database, *scopes: str) -> dict[str, str]:
    with database.session() as session:
        _, key = create_api_key(session, "platform", frozenset(scopes))
    return {"Authorization": f"Bearer {key}"}


def _decide(client: TestClient, number: str, **data: str) -> None:
    page = client.get(f"/console/cases/{number}")
    answer = client.post(
        f"/console/cases/{number}/decision", data={"csrf_token": token_of(page.text), **data}
    )
    assert answer.status_code == 200, answer.text


def _removed_case(database: Database, settings: Settings, rita: TestClient) -> tuple[str, int]:
    with database.session() as session:
        number = submit_request(session, settings, valid_input()).case_number
    _decide(rita, number, outcome="remove")
    with database.session() as session:
        action = session.scalars(select(Action).where(Action.type == "content.remove")).one()
        return number, action.id


def _audited(database: Database) -> list[str]:
    with database.session() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _decide_appeal(client: TestClient, appeal_id: int, outcome: str, reason: str) -> TestClient:
    page = client.get("/console/appeals")
    answer = client.post(
        f"/console/appeals/{appeal_id}/decision",
        data={"csrf_token": token_of(page.text), "outcome": outcome, "reason": reason},
    )
    assert answer.status_code == 200
    return answer  # type: ignore[return-value]


def test_uploader_appeal_upheld_by_another_reviewer_restores_and_is_confirmed(
    signed_in: Callable[[str], TestClient],
    app_factory: Callable[[], TestClient],
    settings: Settings,
    database: Database,
) -> None:
    rita, remy = signed_in("rita"), signed_in("remy")
    number, action_id = _removed_case(database, settings, rita)
    with database.session() as session:
        assert session.scalar(
            select(func.count()).select_from(BankEntry).where(BankEntry.status == "active")
        )
    platform = app_factory()
    headers = _key(database, "content")
    body = {"action_id": action_id, "statement": "This is a picture of my own cat."}
    filed = platform.post("/v1/appeals", json=body, headers=headers)
    assert filed.status_code == 201, filed.text
    appeal = filed.json()
    assert (appeal["status"], appeal["kind"], appeal["case_number"]) == ("open", "removal", number)
    again = platform.post("/v1/appeals", json=body, headers=headers)
    assert (again.status_code, again.json()["id"]) == (200, appeal["id"])

    # The reviewer who decided the removal cannot decide its appeal.
    page = rita.get("/console/appeals")
    (row,) = page.context["rows"]  # type: ignore[attr-defined]
    assert row.may_decide is False and row.deciders == ["rita"]
    assert 'class="appeal-form"' not in page.text
    refused = _decide_appeal(rita, appeal["id"], "upheld", "mine")
    assert refused.context["error"] == "not_allowed"  # type: ignore[attr-defined]
    empty = _decide_appeal(remy, appeal["id"], "upheld", "  ")
    assert empty.context["error"] == "invalid"  # type: ignore[attr-defined]
    assert platform.get(f"/v1/appeals/{appeal['id']}", headers=headers).json()["status"] == "open"

    done = _decide_appeal(remy, appeal["id"], "upheld", "not the reported image")
    assert done.context["done"] == "upheld"  # type: ignore[attr-defined]
    assert done.context["rows"] == []  # type: ignore[attr-defined]
    with database.session() as session:
        restore = session.scalars(select(Action).where(Action.type == "content.restore")).one()
        assert restore.url == "https://platform.example/p/123"
        statuses = set(session.scalars(select(BankEntry.status)))
        assert statuses == {"withdrawn"}  # the case's hashes block nothing any more
    seen = platform.get(f"/v1/appeals/{appeal['id']}", headers=headers).json()
    assert seen["status"] == "upheld" and seen["reason"] == "not the reported image"
    assert seen["restore_action_ids"] == [restore.id]
    confirmed = platform.post(
        f"/v1/actions/{restore.id}/done", json={"outcome": "removed"}, headers=headers
    )
    assert confirmed.json()["status"] == "confirmed"
    history = remy.get(f"/console/cases/{number}").text
    assert "restored_on_appeal" in history
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        # The person's item reads "put back", never "removed" or "removal pending".
        assert [p.state for p in item_progress(session, case)] == ["restored"]
        withdrawals = session.scalars(select(BankChange).where(BankChange.op == "remove")).all()
        # Each withdrawn entry is on the change feed partners pull.
        assert len(withdrawals) == len(session.scalars(select(BankEntry)).all())
    actions = _audited(database)
    for event in ("appeal.file", "appeal.list", "appeal.uphold", "request.restore", "appeal.view"):
        assert event in actions
    assert actions.count("appeal.file") == 1  # filing again recorded nothing


def test_bad_appeals_are_refused_and_change_nothing(
    signed_in: Callable[[str], TestClient],
    app_factory: Callable[[], TestClient],
    settings: Settings,
    database: Database,
) -> None:
    rita = signed_in("rita")
    _, action_id = _removed_case(database, settings, rita)
    platform = app_factory()
    headers = _key(database, "content")
    statement = "mine"
    cases = [
        ({"action_id": action_id + 1000, "statement": statement}, 404),
        ({"action_id": action_id, "statement": "   "}, 422),
        ({"action_id": action_id, "statement": "<script>x</script>"}, 422),
        ({"action_id": action_id, "statement": "x" * 5001}, 422),
        ({"action_id": 2**64, "statement": statement}, 422),
        ({"action_id": "one", "statement": statement}, 422),
        ({"statement": statement}, 422),
    ]
    for body, status in cases:
        answer = platform.post("/v1/appeals", json=body, headers=headers)
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    check_only = _key(database, "check")
    assert (
        platform.post(
            "/v1/appeals", json={"action_id": action_id, "statement": statement}, headers=check_only
        ).status_code
        == 403
    )
    assert platform.get("/v1/appeals/99", headers=headers).status_code == 404
    assert platform.get(f"/v1/appeals/{2**64}", headers=headers).status_code == 422
    # Past the window (six months at least): 409, nothing stored.
    with database.session() as session:
        action = session.get(Action, action_id)
        assert action is not None
        action.created_at -= timedelta(days=settings.appeal_window_days + 1)
    late = platform.post(
        "/v1/appeals", json={"action_id": action_id, "statement": statement}, headers=headers
    )
    assert late.status_code == 409
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Appeal)) == 0


def test_settings_refuse_a_window_under_six_months(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        Settings(environment="test", data_dir=tmp_path, appeal_window_days=90)


def test_requester_asks_for_another_review_and_the_case_is_reopened(
    signed_in: Callable[[str], TestClient],
    app_factory: Callable[[], TestClient],
    database: Database,
) -> None:
    person = app_factory()
    number, secret = file_request(person)
    rita, remy = signed_in("rita"), signed_in("remy")
    _decide(rita, number, outcome="reject", reason_code="not_intimate")
    token = csrf_of(person.get("/status").text)
    page = person.post(
        "/status", data={"csrf_token": token, "case_number": number, "secret": secret}
    )
    assert page.context["can_appeal"] is True  # type: ignore[attr-defined]
    assert 'id="appeal"' in page.text
    token = csrf_of(page.text)
    empty = person.post("/status/appeal", data={"csrf_token": token, "statement": " "})
    assert empty.context["appeal_error"]  # type: ignore[attr-defined]
    no_csrf = person.post("/status/appeal", data={"statement": "again"})
    assert no_csrf.status_code == 403
    filed = person.post(
        "/status/appeal", data={"csrf_token": token, "statement": "It is me: see my ID."}
    )
    assert filed.context["done"] == "appeal"  # type: ignore[attr-defined]
    assert "You asked for another review of our decision." in filed.text
    assert filed.context["can_appeal"] is False  # type: ignore[attr-defined]
    person.post("/status/appeal", data={"csrf_token": token, "statement": "twice"})
    with database.session() as session:
        (appeal,) = session.scalars(select(Appeal))
        assert (appeal.kind, appeal.filed_by) == ("rejection", "requester")

    assert _decide_appeal(rita, appeal.id, "upheld", "x").context["error"] == "not_allowed"  # type: ignore[attr-defined]
    done = _decide_appeal(remy, appeal.id, "upheld", "the ID shows it is her")
    assert done.context["done"] == "upheld"  # type: ignore[attr-defined]
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert (case.status, case.closed_at, case.assigned_to_id) == ("in_review", None, None)
        assert {i.status for i in case.items} == {"pending"}
    queue = remy.get("/console")
    assert number in queue.text
    page = person.get("/status")
    assert "Another reviewer agreed to look at your request again." in page.text
    assert "the ID shows it is her" in page.text  # the reasoned decision, in their history
    assert 'data-status="in_review"' in page.text


def test_a_whole_case_appeal_sent_after_the_window_closed_shows_the_case_as_it_is(
    signed_in: Callable[[str], TestClient],
    app_factory: Callable[[], TestClient],
    database: Database,
    settings: Settings,
) -> None:
    """A status page opened within the window and sent after it closed: the person sees their
    case with no appeal form (as for an item's appeal), not a request to say more; nothing is
    filed, audited or added to the history."""
    person = app_factory()
    number, secret = file_request(person)
    _decide(signed_in("rita"), number, outcome="reject", reason_code="not_intimate")
    token = csrf_of(person.get("/status").text)
    page = person.post(
        "/status", data={"csrf_token": token, "case_number": number, "secret": secret}
    )
    assert 'id="appeal"' in page.text  # the form, while the window is open
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        for decision in case.decisions:
            decision.at -= timedelta(days=settings.appeal_window_days + 1)
    audited = _audited(database)
    with database.session() as session:
        events = session.scalar(select(func.count()).select_from(RequestEvent))
    late = person.post(
        "/status/appeal",
        data={"csrf_token": csrf_of(page.text), "statement": "Please look again."},
    )
    assert late.status_code == 200
    assert late.context["can_appeal"] is False  # type: ignore[attr-defined]
    assert "appeal_error" not in late.context  # type: ignore[attr-defined]
    assert "Tell us in a few words why we should look again" not in late.text
    assert 'id="appeal"' not in late.text and 'action="/status/appeal"' not in late.text
    assert 'data-status="rejected"' in late.text
    assert "You asked for another review of our decision." not in late.text
    assert person.get("/status").text.count('data-status="rejected"') == 1
    assert _audited(database) == audited
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Appeal)) == 0
        assert session.scalar(select(func.count()).select_from(RequestEvent)) == events
        assert session.scalars(select(Request)).one().status == "rejected"
