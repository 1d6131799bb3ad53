"""Every audit event about a removal request names it by its case number, the name reviewers,
auditors and requesters use (an internal row id means nothing to them)."""

from __future__ import annotations

from sqlalchemy import select

from rescind.cases import review
from rescind.cases.enforcement import RemovalEnforcer
from rescind.cases.intake import submit_request
from rescind.cases.validation import ItemInput
from rescind.config import Settings
from rescind.platform.runtime import PlatformRuntime
from rescind.store import Database
from rescind.store.models import AuditEvent
from tests.cases.support import valid_input


def test_removal_events_name_the_case_number(settings: Settings, database: Database) -> None:
    enforce = RemovalEnforcer(PlatformRuntime(settings, database.engine))
    with database.session() as session:
        sub = submit_request(
            session, settings, valid_input(items=[ItemInput(content_id="post-42")])
        )
        api = review.Reviewer("apikey:1", "reviewer")
        enforce = RemovalEnforcer(PlatformRuntime(settings, database.engine))
        review.decide(
            session, settings, sub.request, api, "remove", automated=True, enforce=enforce
        )
        case_number = sub.request.case_number
    with database.session() as session:
        about_requests = {
            (e.action, e.subject_id)
            for e in session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "request"))
        }
    assert ("platform.removal_enforced", case_number) in about_requests
    assert {subject for _, subject in about_requests} == {case_number}
