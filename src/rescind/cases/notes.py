"""Internal case notes: what reviewers tell each other about a case (never the requester)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from rescind.cases.errors import InvalidDecision, NotAllowed
from rescind.cases.review import DECIDING_ROLES, Reviewer
from rescind.cases.validation import MAX_STATEMENT, clean, validate_text
from rescind.security import audit
from rescind.store.columns import utcnow
from rescind.store.models import CaseNote, Request


def add_note(
    session: Session,
    request: Request,
    reviewer: Reviewer,
    body: str | None,
    *,
    now: datetime | None = None,
) -> CaseNote:
    """Record an internal note by a reviewer or admin, on an open or closed case; audited
    (the audit log keeps that a note was written and by whom, not its text)."""
    if reviewer.role not in DECIDING_ROLES or reviewer.user_id is None:
        raise NotAllowed()
    text = clean(body)
    if not text:
        raise InvalidDecision("write the note")
    if validate_text("note", text, MAX_STATEMENT, required=True, multiline=True):
        raise InvalidDecision(f"note: at most {MAX_STATEMENT} characters, no markup")
    note = CaseNote(author_id=reviewer.user_id, body=text, at=now or utcnow())
    request.notes.append(note)
    session.flush()
    audit.record(
        session,
        reviewer.actor,
        "request.note",
        subject_type="request",
        subject_id=request.case_number,
        detail={"note_id": note.id},
    )
    return note
