"""DSA exports: Transparency Database batches (at most 100 statements, each valid by the
database's published field rules; a broken one is caught) and the Art. 15/24 figures CSV."""

from __future__ import annotations

import copy
import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from rescind.cli import app as cli
from rescind.config import Settings
from rescind.platform.statements import CaseContext, statement
from rescind.reports import transparency_db as tdb
from rescind.store import Database
from rescind.store.models import Action, Appeal, Decision, Request, RequestItem
from rescind.store.statuses import Channel, ChildSafetyFlag
from tests.reports.history import generate

START, END = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC)
PERIOD = ["--from", "2026-03-01", "--to", "2026-03-20"]


def _env(settings: Settings) -> dict[str, str]:
    return {
        "RESCIND_DATABASE_URL": settings.sqlalchemy_url,
        "RESCIND_DATA_DIR": str(settings.data_dir),
        "RESCIND_ENVIRONMENT": "test",
        "RESCIND_TERMS_URL": "https://platform.example/terms",
    }


@pytest.fixture
def history(database: Database) -> None:
    with database.session() as session:
        generate(session, 250, seed=11, days=20)


def _expected(database: Database) -> dict[str, Request | None]:
    """puid -> case of every removal confirmed `removed` in the period."""
    with database.session() as session:
        cases = {r.id: r for r in session.scalars(select(Request))}
        session.expunge_all()
        return {
            str(a.id): cases.get(a.request_id or 0)
            for a in session.scalars(select(Action))
            if a.type == "content.remove"
            and a.outcome == "removed"
            and a.confirmed_at is not None
            and START <= a.confirmed_at < END
        }


def test_batches_hold_at_most_100_valid_statements(
    settings: Settings, database: Database, history: None, tmp_path: Path
) -> None:
    expected = _expected(database)
    synthetic = next(r for r in expected.values() if r and r.child_safety == "none")
    assert synthetic is not None
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "transparency-db",
            *PERIOD,
            "--output",
            str(tmp_path),
            "--synthetic",
            synthetic.case_number,
        ],
        env=_env(settings),
    )
    assert result.exit_code == 0, result.output
    files = sorted(tmp_path.glob("batch-*.json"))
    batches = [json.loads(f.read_text())["statements"] for f in files]
    assert len(expected) > 200 and len(files) == -(-len(expected) // 100)
    assert all(1 <= len(b) <= 100 for b in batches)
    statements = [s for b in batches for s in b]
    assert tdb.validate_batch(statements[:100]) == []
    assert all(tdb.validate_batch(b) == [] for b in batches)
    assert sorted(s["puid"] for s in statements) == sorted(expected)
    for s in statements:
        case = expected[s["puid"]]
        assert case is not None and case.case_number in s["decision_facts"]
        assert s["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
        assert s["decision_ground_reference_url"] == "https://platform.example/terms"
        if case.child_safety == ChildSafetyFlag.POSSIBLE:
            assert s["category"] == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
        else:
            assert s["category"] == "STATEMENT_CATEGORY_CYBER_VIOLENCE"
            assert tdb.NCII in s["category_specification"]
            assert (tdb.DEEPFAKE in s["category_specification"]) == (case is synthetic)
        if s["source_type"] == "SOURCE_VOLUNTARY":
            assert s["automated_detection"] == "Yes"
        elif case.channel == Channel.REGULATOR:
            assert s["source_type"] == "SOURCE_TYPE_OTHER_NOTIFICATION"
    assert {s["source_type"] for s in statements} >= {"SOURCE_ARTICLE_16", "SOURCE_VOLUNTARY"}


def _valid() -> dict[str, Any]:
    """A statement as the export writes it, for an unsaved removal of a URL-only item."""
    at = datetime(2026, 3, 2, 12, tzinfo=UTC)
    request = Request(
        id=1, case_number="RSC-T-1", channel="public_form", child_safety="none", received_at=at
    )
    item = RequestItem(id=1, request_id=1, url="https://p.example/1")
    action = Action(
        id=42, type="content.remove", url=item.url, request_id=1, item_id=1, confirmed_at=at
    )
    decision = Decision(request_id=1, outcome="remove", automated=False, at=at)
    sor = statement(
        action, CaseContext(request, decision, item, None), Settings(environment="test")
    )
    made = tdb.tdb_statement(action, sor, request, None)
    assert tdb.validate(made) == [] and made["source_type"] == "SOURCE_ARTICLE_16"
    return made


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s.pop("decision_facts"), "decision_facts"),
        (lambda s: s.update(category="STATEMENT_CATEGORY_NCII"), "category"),
        (lambda s: s.update(category_specification=["NCII"]), "category_specification"),
        (lambda s: s.update(illegal_content_explanation="x" * 2001), "illegal_content_explanation"),
        (lambda s: s.pop("illegal_content_legal_ground"), "illegal_content_legal_ground"),
        (lambda s: s.update(application_date="2026-3-1"), "application_date"),
        (lambda s: s.update(application_date="2019-12-31"), "application_date"),
        (lambda s: s.update(content_date="1999-12-31"), "content_date"),
        (lambda s: s.update(puid="action 12"), "puid"),
        (lambda s: s.update(automated_detection="yes"), "automated_detection"),
        (lambda s: s.update(decision_visibility=None), "decision_visibility"),
        (
            lambda s: s.update(content_type=["CONTENT_TYPE_OTHER"], content_type_other=""),
            "content_type_other",
        ),
        (lambda s: s.update(territorial_scope=["US"]), "territorial_scope"),
        (
            lambda s: s.update(source_type="SOURCE_VOLUNTARY", source_identity="x"),
            "source_identity",
        ),
        (lambda s: s.update(uploader="someone"), "uploader"),
    ],
)
def test_a_broken_statement_is_caught(change: Any, field: str) -> None:
    broken = copy.deepcopy(_valid())
    change(broken)
    assert field in {e.field for e in tdb.validate(broken)}


def test_batch_rules() -> None:
    one = _valid()
    assert [e.message for e in tdb.validate_batch([one, dict(one)])] == ["used twice in the batch"]
    many = [{**one, "puid": f"p{i}"} for i in range(101)]
    assert any(e.field == "statements" for e in tdb.validate_batch(many))
    assert tdb.validate_batch(many[:100]) == []
    assert any(e.field == "statements" for e in tdb.validate_batch([]))


def test_dsa_figures_csv(
    settings: Settings, database: Database, history: None, tmp_path: Path
) -> None:
    target = tmp_path / "dsa.csv"
    result = CliRunner().invoke(
        cli, ["report", "dsa-figures", *PERIOD, "--output", str(target)], env=_env(settings)
    )
    assert result.exit_code == 0, result.output
    raw = target.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")  # RFC 4180 line ends
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    value = {(r["section"], r["indicator"], r["breakdown"]): r["value"] for r in rows}
    with database.session() as session:
        cases = [r for r in session.scalars(select(Request)) if START <= r.received_at < END]
    orders = "Orders to act against illegal content (Art. 9)"
    notices = "Notices submitted (Art. 16)"
    ncii = "STATEMENT_CATEGORY_CYBER_VIOLENCE / KEYWORD_NON_CONSENSUAL_IMAGE_SHARING"
    assert int(value[(orders, "received", ncii)]) + int(
        value[(orders, "received", "STATEMENT_CATEGORY_PROTECTION_OF_MINORS")]
    ) == sum(1 for r in cases if r.channel == Channel.REGULATOR)
    assert int(value[(notices, "received", ncii)]) == sum(
        1 for r in cases if r.channel != Channel.REGULATOR and r.child_safety == "none"
    )
    assert float(value[(notices, "median time to take action", "receipt to confirmed removal")]) > 0
    # Complaints (Art. 20) are the appeals of the period's cases.
    with database.session() as session:
        ids = {r.id for r in cases}
        appeals = [a for a in session.scalars(select(Appeal)) if a.request_id in ids]
    complaints = "Complaints through the internal complaint-handling system (Art. 20)"
    received = [
        int(v) for (s, i, _b), v in value.items() if s == complaints and i == "complaints received"
    ]
    assert sum(received) == len(appeals) > 0
    assert int(value[(complaints, "decisions reversed (complaint upheld)", "all")]) == sum(
        1 for a in appeals if a.status == "upheld"
    )
    # What Rescind does not know is empty with a note, never a zero.
    trusted = next(r for r in rows if r["indicator"] == "submitted by trusted flaggers")
    assert trusted["value"] == "" and trusted["note"]
