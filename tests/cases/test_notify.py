"""Emails go out over real SMTP from jobs, in the requester's language, with no content detail;
reviewers hear about cases at risk."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from rescind.cases import deadlines, review
from rescind.cases.enforcement import RemovalEnforcer
from rescind.cases.intake import submit_request
from rescind.cases.users import create_user
from rescind.config import Settings
from rescind.store import Database
from rescind.store.models import Job, Request
from tests.cases.support import SmtpServer, body_of, run_jobs, valid_input


def test_acknowledgement_in_the_requesters_language(
    settings: Settings, database: Database, smtp: SmtpServer
) -> None:
    settings = smtp.settings(settings)
    with database.session() as session:
        sub = submit_request(session, settings, valid_input(language="fr"))
    assert run_jobs(settings, database) == 1
    [message] = smtp.messages
    assert message["X-Envelope-To"] == "alex@example.org"
    assert sub.case_number in str(message["Subject"])
    body = body_of(message)
    assert "Numéro de dossier" in body and sub.case_number in body
    assert sub.secret not in body
    assert "platform.example" not in body  # never where the content is


def test_decision_email_carries_the_reason_and_message(
    settings: Settings, database: Database, smtp: SmtpServer, enforce: RemovalEnforcer
) -> None:
    settings = smtp.settings(settings)
    with database.session() as session:
        sub = submit_request(session, settings, valid_input(language="id"))
        review.decide(
            session,
            settings,
            sub.request,
            review.Reviewer("apikey:1", "reviewer"),
            "reject",
            reason_code="not_found",
            message_to_requester="Tautan mati.",
            reply_code="reject_not_found",
            enforce=enforce,
        )
    run_jobs(settings, database)
    assert len(smtp.messages) == 2
    body = body_of(smtp.messages[1])
    assert "Tautan mati." in body
    assert "Kami tidak dapat menemukan" in body
    # The canned reply, in the person's language, before the reviewer's own words.
    reply = "Kami sudah memeriksa alamat yang Anda berikan"
    assert reply in body and body.index(reply) < body.index("Tautan mati.")


def test_escalation_marks_risk_once_per_level_and_emails_reviewers(
    settings: Settings, database: Database, smtp: SmtpServer
) -> None:
    settings = smtp.settings(settings)
    with database.session() as session:
        sub = submit_request(session, settings, valid_input())
        create_user(session, "rev", "correct horse battery", "reviewer", email="rev@example.org")
        received = sub.request.received_at
    run_jobs(settings, database)  # the acknowledgement
    for hours, expected in ((23, 0), (25, 1), (26, 0), (41, 1), (60, 0)):
        with database.session() as session:
            assert deadlines.escalate(session, settings, received + timedelta(hours=hours)) == (
                expected
            )
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert case.risk_level == 2
        assert deadlines.clock(case, received + timedelta(hours=49)).overdue
        kinds = [j.kind for j in session.scalars(select(Job)) if j.status == "queued"]
        assert kinds == ["email.reviewers", "email.reviewers"]
    run_jobs(settings, database)
    to_reviewers = [m for m in smtp.messages if m["X-Envelope-To"] == "rev@example.org"]
    assert len(to_reviewers) == 2 and sub.case_number in str(to_reviewers[0]["Subject"])
