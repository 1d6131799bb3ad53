"""The typed signature is sealed at rest: the console decrypts it in one place, only with the
contact details, and the view is audited."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from rescind.store import Database
from rescind.store.models import AuditEvent, Request

SignedIn = Callable[[str], TestClient]


def test_the_signature_is_shown_with_the_contact_details_and_audited(
    signed_in: SignedIn, case_number: str, database: Database
) -> None:
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert case.signature is None and b"Alex" not in (case.signature_enc or b"")
    rita = signed_in("rita")
    page = rita.get(f"/console/cases/{case_number}")
    assert 'id="signature"' not in page.text and "Alex Example" not in page.text
    page = rita.get(f"/console/cases/{case_number}?contact=1")
    assert '<span id="signature">Alex Example</span>' in page.text
    with database.session() as session:
        views = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "request.contact_view")
        ).all()
        assert [v.detail for v in views] == [{"fields": ["name", "email", "phone", "signature"]}]
