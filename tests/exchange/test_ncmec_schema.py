"""Every CyberTipline report Rescind writes validates against its schema of NCMEC's report
(tests/exchange/schemas/cybertipline-report.xsd: NCMEC's element names, order and cardinalities
plus the length and format rules of NCMEC's documentation; docs/operator-guide.md, "Reports to
NCMEC", says what it was derived from): reports built from any text, URL, content id and hashes
(control characters in them are dropped, never written into the XML), and the report of a
flagged case decided through the service. The schema is not vacuous: it refuses what NCMEC's
documentation refuses. Settings that could only produce a refused report are refused at start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from rescind.cases.enforcement import RemovalEnforcer
from rescind.cases.intake import submit_request
from rescind.cases.review import Reviewer, decide
from rescind.config import Settings
from rescind.exchange.cybertipline import (
    ReportedItem,
    Reporter,
    TiplineReportDraft,
    build_report_xml,
)
from rescind.platform.runtime import PlatformRuntime
from rescind.store import Database
from rescind.store.models import Request, TiplineReport
from rescind.store.statuses import Role
from tests.cases.support import valid_input
from tests.exchange.ncmec_standin import validation_errors

HEX = "0123456789abcdef"
texts = st.text(max_size=300)  # any character, control characters included
items = st.builds(
    ReportedItem,
    urls=st.lists(
        st.text(min_size=1, max_size=2048).map(lambda s: "https://p.example/" + s[:2000]),
        max_size=3,
    ).map(tuple),
    content_ids=st.lists(st.text(min_size=1, max_size=255), max_size=3).map(tuple),
    md5=st.one_of(st.none(), st.text(HEX, min_size=32, max_size=32)),
    sha256=st.one_of(st.none(), st.text(HEX, min_size=64, max_size=64)),
    pdq=st.lists(st.text(HEX, min_size=64, max_size=64), max_size=8).map(tuple),
)
drafts = st.builds(
    TiplineReportDraft,
    incident_at=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2026, 1, 1),
        timezones=st.sampled_from([UTC]),
    ),
    reporter=st.builds(
        Reporter,
        first_name=st.text(min_size=1, max_size=100),
        last_name=st.text(min_size=1, max_size=100),
        email=st.just("safety@platform.example"),
    ),
    items=st.lists(items, max_size=4),
    summary=texts,
)


@given(drafts)
@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_report_built_validates(draft: TiplineReportDraft) -> None:
    xml = build_report_xml(draft)
    assert validation_errors(xml) == [], xml[:2000]


def test_a_decided_flagged_case_files_a_valid_report(
    settings: Settings, database: Database
) -> None:
    settings = settings.model_copy(
        update={"ncmec_reporter_name": "Dana Safety", "ncmec_reporter_email": "ds@p.example"}
    )
    enforce = RemovalEnforcer(PlatformRuntime(settings, database.engine))
    with database.session() as session:
        number = submit_request(session, settings, valid_input(minor="yes")).case_number
    with database.session() as session:
        case = session.scalars(select(Request).where(Request.case_number == number)).one()
        decide(
            session, settings, case, Reviewer("user:1", Role.REVIEWER), "remove", enforce=enforce
        )
    with database.session() as session:
        xml = session.scalars(select(TiplineReport.report_xml)).one()
    assert validation_errors(xml) == []
    assert "https://platform.example/p/123" in xml and "ds@p.example" in xml


GOOD = TiplineReportDraft(
    incident_at=datetime(2026, 5, 1, 12, tzinfo=UTC),
    reporter=Reporter("Dana", "Safety", "ds@p.example"),
    items=[ReportedItem(urls=("https://p.example/1",), md5="0" * 32)],
    summary="A person said they were under 18.",
)


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("<email>ds@p.example</email>", "", "email"),
        ("<email>ds@p.example</email>", "<email>no-at-sign</email>", "email"),
        ("Child Pornography (possession", "Child Porn (possession", "incidentType"),
        ("<firstName>Dana", "<firstName>" + "D" * 101, "firstName"),
        ("https://p.example/1", "https://p.example/" + "x" * 2070, "url"),
        ("2026-05-01T12:00:00+00:00", "2026-05-01T12:00:00", "incidentDateTime"),
        ("2026-05-01T12", "2999-05-01T12", "in the past"),
        ("<reporter>", "<victim/><reporter>", "victim"),
        ("A person said", "A person\x01 said", "malformed"),
    ],
)
def test_the_schema_refuses_what_ncmec_refuses(old: str, new: str, why: str) -> None:
    xml = build_report_xml(GOOD)
    assert validation_errors(xml) == []
    assert old in xml
    errors = validation_errors(xml.replace(old, new))
    assert any(why in e for e in errors), errors


def test_control_characters_never_reach_the_report() -> None:
    draft = TiplineReportDraft(
        incident_at=datetime.now(UTC) - timedelta(hours=1),
        reporter=Reporter("Da\x00na", "Sa\x1bfety", "ds@p.example"),
        items=[ReportedItem(urls=("https://p.example/\x01a", "\x02"), content_ids=("c\x03",))],
        summary="\x07",
    )
    xml = build_report_xml(draft)
    assert validation_errors(xml) == []
    assert "https://p.example/a" in xml and "Platform content id: c" in xml
    assert "<url>" in xml and xml.count("<url>") == 1  # a URL of nothing but controls is dropped


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ncmec_reporter_email", ""),
        ("ncmec_reporter_email", "no-at-sign"),
        ("ncmec_reporter_email", "a" * 65 + "@p.example"),
        ("ncmec_reporter_email", "two words@p.example"),
        ("ncmec_reporter_name", ""),
        ("ncmec_reporter_name", "D" * 101 + " Safety"),
    ],
)
def test_reporter_settings_ncmec_would_refuse_are_refused(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(**{field: value})  # type: ignore[arg-type]
