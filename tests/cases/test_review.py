"""Claims and decisions: two reviewers cannot collide; each decision is recorded, audited,
enforced (remove) and notified."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from rescind.cases import review
from rescind.cases.enforcement import RemovalEnforcer, withdraw_hashes
from rescind.cases.errors import CaseClosed, ClaimConflict, InvalidDecision, NotAllowed
from rescind.cases.intake import submit_request
from rescind.cases.requester import withdraw
from rescind.cases.users import create_user
from rescind.config import Settings
from rescind.security.audit import verify_chain
from rescind.store import Database
from rescind.store.models import Action, AuditEvent, BankEntry, Decision, Job, Request
from tests.cases.support import valid_input


def _setup(settings: Settings, database: Database) -> tuple[int, int, int]:
    with database.session() as session:
        sub = submit_request(session, settings, valid_input())
        alice = create_user(session, "alice", "correct horse battery", "reviewer")
        bob = create_user(session, "bob", "correct horse battery", "reviewer")
        return sub.request.id, alice.id, bob.id


def _reviewer(database: Database, user_id: int) -> review.Reviewer:
    from rescind.store.models import User

    with database.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        return review.Reviewer.of_user(user)


def test_second_claim_on_a_stale_page_conflicts(
    settings: Settings, database: Database, enforce: RemovalEnforcer
) -> None:
    case_id, alice, bob = _setup(settings, database)
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        review.claim(session, case, _reviewer(database, alice), expected_assignee_id=None)
    with pytest.raises(ClaimConflict) as caught, database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        review.claim(session, case, _reviewer(database, bob), expected_assignee_id=None)
    assert caught.value.assigned_to == "alice"
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None and case.status == "in_review" and case.assigned_to_id == alice
        # Bob may not decide a case Alice holds...
        with pytest.raises(ClaimConflict):
            review.decide(
                session, settings, case, _reviewer(database, bob), "remove", enforce=enforce
            )


def test_remove_is_enforced_in_the_same_transaction(
    settings: Settings, database: Database, enforce: RemovalEnforcer
) -> None:
    case_id, alice, _ = _setup(settings, database)
    calls: list[int] = []

    class EnforceSpy(RemovalEnforcer):
        def __call__(self, session: Any, s: Settings, request: Request) -> None:
            calls.append(request.id)
            super().__call__(session, s, request)

    enforce_spy = EnforceSpy(enforce.runtime)

    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        review.decide(
            session,
            settings,
            case,
            _reviewer(database, alice),
            "remove",
            note="clear case",
            enforce=enforce_spy,
        )
    assert calls == [case_id]
    with database.session() as session:
        case = session.get(Request, case_id)
        # Decided, not removed: the platform has not confirmed the action for the URL yet.
        assert case is not None and case.status == "removal_pending" and case.closed_at is None
        decision = session.scalars(select(Decision)).one()
        assert (decision.outcome, decision.reviewer_id, decision.automated) == (
            "remove",
            alice,
            False,
        )
        assert session.scalars(select(BankEntry)).all()  # the item's hashes are banked
        kinds = [j.payload.get("kind") for j in session.scalars(select(Job))]
        assert "remove" in kinds
        assert verify_chain(session).ok
        with pytest.raises(CaseClosed):
            review.decide(
                session,
                settings,
                case,
                _reviewer(database, alice),
                "reject",
                reason_code="not_found",
                enforce=enforce,
            )
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        withdraw(session, settings, case, on_withdraw=withdraw_hashes)
    with database.session() as session:
        assert {e.status for e in session.scalars(select(BankEntry))} == {"withdrawn"}


def test_content_named_by_id_gets_a_removal_action(
    settings: Settings, database: Database, enforce: RemovalEnforcer
) -> None:
    from rescind.cases.validation import ItemInput

    with database.session() as session:
        sub = submit_request(
            session, settings, valid_input(items=[ItemInput(content_id="post-42")])
        )
        api = review.Reviewer("apikey:1", "reviewer")
        review.decide(
            session, settings, sub.request, api, "remove", automated=True, enforce=enforce
        )
    with database.session() as session:
        assert [a.content_id for a in session.scalars(select(Action))] == ["post-42"]
        assert session.scalars(select(Decision)).one().automated is True


def test_reject_and_need_info_need_their_reasons(
    settings: Settings, database: Database, enforce: RemovalEnforcer
) -> None:
    case_id, alice, _ = _setup(settings, database)
    who = _reviewer(database, alice)
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        with pytest.raises(InvalidDecision):
            review.decide(session, settings, case, who, "reject", enforce=enforce)
        with pytest.raises(InvalidDecision):
            review.decide(session, settings, case, who, "need_info", enforce=enforce)
        with pytest.raises(InvalidDecision):
            review.decide(session, settings, case, who, "delete", enforce=enforce)
        deadline = case.deadline_at
        review.decide(
            session,
            settings,
            case,
            who,
            "need_info",
            message_to_requester="Which post is it?",
            enforce=enforce,
        )
        assert case.status == "need_info" and case.deadline_at == deadline and not case.closed_at
        review.decide(
            session, settings, case, who, "reject", reason_code="not_found", enforce=enforce
        )
        assert case.status == "rejected"


def test_auditors_cannot_decide(
    settings: Settings, database: Database, enforce: RemovalEnforcer
) -> None:
    case_id, _, _ = _setup(settings, database)
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        auditor = review.Reviewer("user:99", "auditor", 99)
        with pytest.raises(NotAllowed):
            review.decide(session, settings, case, auditor, "remove", enforce=enforce)
        with pytest.raises(NotAllowed):
            review.claim(session, case, auditor, expected_assignee_id=None)


def test_a_removal_cannot_be_decided_or_withdrawn_without_its_hook(
    settings: Settings, database: Database, enforce: RemovalEnforcer
) -> None:
    # A forgotten hook used to record a removal that banked and removed nothing, or a
    # withdrawal that left the hashes blocking: now the call itself is refused (and mypy
    # refuses it before that), and nothing is recorded.
    case_id, alice, _ = _setup(settings, database)
    with pytest.raises(TypeError), database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        review.decide(session, settings, case, _reviewer(database, alice), "remove")  # type: ignore[call-arg]
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None and case.status == "received"
        review.decide(
            session, settings, case, _reviewer(database, alice), "remove", enforce=enforce
        )
    with pytest.raises(TypeError), database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        withdraw(session, settings, case)  # type: ignore[call-arg]
    with database.session() as session:
        assert session.scalars(select(Request)).one().status == "removal_pending"
        assert {e.status for e in session.scalars(select(BankEntry))} == {"active"}


def test_a_closed_case_cannot_be_released(
    settings: Settings, database: Database, enforce: RemovalEnforcer
) -> None:
    """Releasing hands a case back to the queue: a rejected (closed) case stays with the
    reviewer who decided it, and nothing is audited as a release."""
    case_id, alice, _ = _setup(settings, database)
    reviewer = _reviewer(database, alice)
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        review.claim(session, case, reviewer, expected_assignee_id=None)
        review.decide(
            session, settings, case, reviewer, "reject", reason_code="duplicate", enforce=enforce
        )
    with pytest.raises(CaseClosed), database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        review.release(session, case, reviewer)
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None and case.status == "rejected" and case.assigned_to_id == alice
        actions = session.scalars(select(AuditEvent.action)).all()
        assert "request.release" not in actions
