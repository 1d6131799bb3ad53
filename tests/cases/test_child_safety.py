"""A case where the person was, or may have been, under 18 when the imagery was made: flagged
as possible child sexual abuse material, first in the queue, on a shorter clock, reviewers told
at once. And the typed signature is sealed at rest like the contact details."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from rescind.cases import queue
from rescind.cases.errors import InvalidRequest
from rescind.cases.intake import signature_of, submit_request
from rescind.cases.notify import REVIEWERS_EMAIL
from rescind.config import Settings
from rescind.store import Database
from rescind.store.models import Job, Request
from rescind.store.statuses import ChildSafetyFlag, MinorAnswer
from tests.cases.support import valid_input


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [(MinorAnswer.YES, True), (MinorAnswer.NOT_SURE, True), (MinorAnswer.NO, False)],
)
def test_an_under_18_case_is_first_in_the_queue_on_the_shorter_clock(
    settings: Settings, database: Database, answer: MinorAnswer, flagged: bool
) -> None:
    with database.session() as session:
        adult = submit_request(session, settings, valid_input(minor="no")).request
        case = submit_request(session, settings, valid_input(minor=answer.value)).request
        session.flush()
        assert adult.deadline_at - adult.received_at == timedelta(hours=48)
        hours = settings.minor_deadline_hours if flagged else 48
        assert case.deadline_at - case.received_at == timedelta(hours=hours)
        assert case.minor_answer == answer
        assert case.child_safety == (ChildSafetyFlag.POSSIBLE if flagged else ChildSafetyFlag.NONE)
        assert case.ncmec_report_id is None and case.ncmec_reported_at is None
        # Even when the flagged case's deadline is later than an older case's.
        session.execute(
            update(Request)
            .where(Request.id == adult.id)
            .values(deadline_at=case.deadline_at - timedelta(hours=30))
        )
        session.expire_all()
        ordered = [c.case_number for c in queue.list_queue(session, queue.QueueFilter())]
        expected = [case.case_number, adult.case_number]
        assert ordered == (expected if flagged else expected[::-1])
        reviewer_jobs = [
            j.payload
            for j in session.scalars(select(Job).where(Job.kind == REVIEWERS_EMAIL))
            if j.payload.get("request_id") == case.id
        ]
        assert reviewer_jobs == (
            [{"request_id": case.id, "reason": "child_safety"}] if flagged else []
        )


def test_the_minor_deadline_is_a_setting_and_never_lengthens_a_clock(
    settings: Settings, database: Database
) -> None:
    settings = settings.model_copy(update={"minor_deadline_hours": 72})
    with database.session() as session:
        case = submit_request(session, settings, valid_input(minor="yes")).request
        assert case.deadline_at - case.received_at == timedelta(hours=48)


def test_the_question_is_required_on_the_public_form_and_checked(
    settings: Settings, database: Database
) -> None:
    with database.session() as session:
        for value, code in ((None, "required"), ("maybe", "invalid_choice")):
            with pytest.raises(InvalidRequest) as caught:
                submit_request(session, settings, valid_input(minor=value))
            assert [(e.field, e.code) for e in caught.value.errors] == [("minor", code)]
        # Other channels (the API) may leave it unanswered.
        case = submit_request(session, settings, valid_input(minor=None, channel="api")).request
        assert case.minor_answer is None and case.child_safety == ChildSafetyFlag.NONE


def test_the_signature_is_sealed_at_rest_and_old_plaintext_still_reads(
    settings: Settings, database: Database
) -> None:
    with database.session() as session:
        case = submit_request(session, settings, valid_input(signature="Alex Example")).request
        session.flush()
        assert case.signature is None and case.signature_enc
        assert b"Alex" not in case.signature_enc
        assert signature_of(settings, case) == "Alex Example"
        # A case filed before migration 0007 keeps its plaintext signature, still readable.
        case.signature, case.signature_enc = "Old Person", None
        assert signature_of(settings, case) == "Old Person"


def test_a_form_token_files_one_case(settings: Settings, database: Database) -> None:
    with database.session() as session:
        first = submit_request(session, settings, valid_input(), form_token="token-1")
        again = submit_request(session, settings, valid_input(), form_token="token-1")
        assert first.secret and again.replayed and again.request.id == first.request.id
        assert first.request.submission_digest and "token-1" not in first.request.submission_digest
        other = submit_request(session, settings, valid_input(), form_token="token-2")
        assert other.request.id != first.request.id
        assert len(session.scalars(select(Request)).all()) == 2
