"""The console's Compliance page: admins and auditors only, the same figures as the CLI with a
period picker and downloads, each figure leading to its cases; every view is audited."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rescind.store import Database
from rescind.store.models import AuditEvent, Request
from tests.reports.history import generate

SignedIn = Callable[[str], TestClient]
PERIOD = "from=2026-03-01&to=2026-03-21"


@pytest.fixture
def history(database: Database) -> None:
    with database.session() as session:
        generate(session, 120, seed=5, days=20)


def _actions(database: Database) -> list[str]:
    with database.session() as session:
        return [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_reviewers_are_refused(signed_in: SignedIn, history: None) -> None:
    rita = signed_in("rita")
    for path in (
        "/console/compliance",
        f"/console/compliance/report.csv?{PERIOD}",
        f"/console/compliance/cases?{PERIOD}&figure=received",
        f"/console/compliance/transparency.csv?{PERIOD}",
    ):
        assert rita.get(path).status_code == 403, path
    assert "/console/compliance" not in rita.get("/console").text


def test_auditor_sees_figures_that_lead_to_their_cases(
    signed_in: SignedIn, database: Database, history: None
) -> None:
    aude = signed_in("aude")
    assert 'href="/console/compliance"' in aude.get("/console").text
    page = aude.get(f"/console/compliance?{PERIOD}")
    assert page.status_code == 200
    report = page.context["report"]  # type: ignore[attr-defined]
    assert report.received == 120 and page.text.count("<svg") == 3
    assert _actions(database)[-1] == "report.view"
    # The figure "removed" links to the list of exactly those cases.
    link = re.search(r'href="(/console/compliance/cases\?[^"]*figure=removed)"', page.text)
    assert link
    listed = aude.get(link.group(1).replace("&amp;", "&"))
    assert listed.status_code == 200
    numbers = set(re.findall(r'href="/console/cases/(R\d+)"', listed.text))
    with database.session() as session:
        removed = set(
            session.scalars(select(Request.case_number).where(Request.status == "removed"))
        )
    assert numbers == removed and len(numbers) == report.removed
    assert _actions(database)[-1] == "report.cases"
    # Every missed deadline on the page links to its case.
    for m in report.missed[:10]:
        assert f'href="/console/cases/{m.case_number}"' in page.text


def test_downloads_carry_the_same_figures(
    signed_in: SignedIn, database: Database, history: None
) -> None:
    ada = signed_in("ada")
    figures = json.loads(ada.get(f"/console/compliance/report.json?{PERIOD}").text)
    exported = ada.get(f"/console/compliance/report.csv?{PERIOD}")
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = {
        (r["section"], r["figure"]): r["value"] for r in csv.DictReader(io.StringIO(exported.text))
    }
    assert int(rows[("requests", "valid")]) == figures["requests"]["valid"]
    html = ada.get(f"/console/compliance/report.html?{PERIOD}")
    assert html.status_code == 200 and "@media print" in html.text
    dsa = ada.get(f"/console/compliance/transparency.csv?{PERIOD}")
    assert dsa.status_code == 200 and "Notices submitted (Art. 16)" in dsa.text
    made = [a for a in _actions(database) if a.startswith("report.")]
    assert made == ["report.generate"] * 3 + ["report.dsa_figures"]


def test_bad_input_is_a_clear_4xx(signed_in: SignedIn, history: None) -> None:
    aude = signed_in("aude")
    backwards = aude.get("/console/compliance?from=2026-03-21&to=2026-03-01")
    assert backwards.status_code == 400 and "must be after" in backwards.text
    assert aude.get("/console/compliance?from=soon&to=later").status_code == 400
    unknown = aude.get(f"/console/compliance/cases?{PERIOD}&figure=everything")
    assert unknown.status_code == 400
    assert aude.get(f"/console/compliance/cases?{PERIOD}&figure=missed:weekly").status_code == 400
    assert aude.get(f"/console/compliance/report.docx?{PERIOD}").status_code == 404
    assert aude.get("/console/compliance/report.csv?from=x&to=y").status_code == 400
