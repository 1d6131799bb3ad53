"""The NCMEC reports page: admins only; each view is an audit event; a report whose submit
answer was lost is resolved there with NCMEC's report id (digits) and continues."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from rescind.cases.intake import submit_request
from rescind.config import Settings
from rescind.store import Database
from rescind.store.models import AuditEvent, Job, TiplineReport
from tests.cases.support import valid_input
from tests.web.console.conftest import token_of


def test_reports_page_is_for_admins_and_resolves_a_lost_answer(
    signed_in: Callable[[str], TestClient], settings: Settings, database: Database
) -> None:
    with database.session() as session:
        number = submit_request(session, settings, valid_input(minor="not_sure")).case_number
    rita = signed_in("rita")
    page = rita.get(f"/console/cases/{number}")
    rita.post(
        f"/console/cases/{number}/decision",
        data={"csrf_token": token_of(page.text), "outcome": "remove"},
    )
    assert rita.get("/console/ncmec").status_code == 403
    assert signed_in("aude").get("/console/ncmec").status_code == 403
    with database.session() as session:
        report = session.scalars(select(TiplineReport)).one()
        assert report.state == "queued"  # no endpoint configured: prepared, preserved, unsent
        report.state = "needs_check"
    ada = signed_in("ada")
    page = ada.get("/console/ncmec")
    assert page.status_code == 200
    assert number in page.text and "needs_check" in page.text
    with database.session() as session:
        assert "preservation.view" in set(session.scalars(select(AuditEvent.action)))
    token = token_of(page.text)
    bad = ada.post(
        f"/console/ncmec/{report.id}/check", data={"csrf_token": token, "ncmec_report_id": "x1"}
    )
    assert bad.context["error"] == "invalid"  # type: ignore[attr-defined]
    ok = ada.post(
        f"/console/ncmec/{report.id}/check",
        data={"csrf_token": token, "ncmec_report_id": "9000123"},
    )
    assert ok.context["done"] == "resolved"  # type: ignore[attr-defined]
    with database.session() as session:
        again = session.get(TiplineReport, report.id)
        assert again is not None
        assert (again.state, again.ncmec_report_id) == ("submitted", "9000123")
        assert session.scalars(select(Job).where(Job.kind == "ncmec.report")).all()
