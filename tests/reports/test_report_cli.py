"""`rescind report --from --to --format csv|json|html|pdf`: the same figures in every format,
links to the cases behind them, the audit chain head, and a PDF whose pages are not blank."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner

from rescind.cli import app as cli
from rescind.config import Settings
from rescind.security import audit
from rescind.store import Database
from rescind.store.models import AuditEvent
from tests.reports.history import generate

PERIOD = ["--from", "2026-03-01", "--to", "2026-03-15"]


def _env(settings: Settings) -> dict[str, str]:
    return {
        "RESCIND_DATABASE_URL": settings.sqlalchemy_url,
        "RESCIND_DATA_DIR": str(settings.data_dir),
        "RESCIND_ENVIRONMENT": "test",
        "RESCIND_PUBLIC_BASE_URL": "https://rescind.example",
    }


@pytest.fixture
def history(settings: Settings, database: Database) -> tuple[int, str]:
    with database.session() as session:
        generate(session, 300, seed=3, days=20)
        event = audit.record(session, "system", "test.marker")
        return event.id, event.hash


def _run(settings: Settings, *args: str) -> bytes:
    result = CliRunner().invoke(cli, ["report", *PERIOD, *args], env=_env(settings))
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def test_csv_json_and_html_say_the_same(
    settings: Settings, database: Database, history: tuple[int, str]
) -> None:
    data = json.loads(_run(settings, "--format", "json"))
    assert data["audit_chain_head"] == {"id": history[0], "hash": history[1]}
    assert data["requests"]["received"] > 100
    assert data["links"]["removed"].startswith("https://rescind.example/console/compliance/cases?")
    rows = list(csv.DictReader(io.StringIO(_run(settings, "--format", "csv").decode())))
    value = {(r["section"], r["figure"], r["clock"]): r["value"] for r in rows}
    for key in ("received", "valid", "decided", "removed", "rejected", "withdrawn"):
        assert int(value[("requests", key, "")]) == data["requests"][key]
    # The JSON report's own `report.generate` event is the head the CSV report names.
    with database.session() as session:
        generated = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "report.generate").order_by(AuditEvent.id)
        ).first()
    assert generated is not None
    assert generated.id == history[0] + 1
    assert value[("report", "audit_chain_head_id", "")] == str(generated.id)
    assert value[("report", "audit_chain_head_hash", "")] == generated.hash
    standard = next(c for c in data["clocks"] if c["clock"] == "standard")
    assert (
        float(value[("time_to_removal_items", "median_h", "standard")])
        == (standard["time_to_removal"]["items"]["median_h"])
    )
    missed = [r for r in rows if r["section"] == "missed"]
    assert len(missed) == len(data["missed"]) > 0
    assert all(r["link"].startswith("https://rescind.example/console/cases/") for r in missed)

    html = _run(settings, "--format", "html").decode()
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org", "")
    assert f"up to event {history[0] + 2}," in html and html.count("<svg") == 3
    # Every figure is a link to its cases; every missed case links to its page.
    assert f">{data['requests']['received']}</a>" in html
    for m in data["missed"][:20]:
        assert f'href="https://rescind.example/console/cases/{m["case_number"]}"' in html
    assert "@media print" in html
    with database.session() as session:
        made = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "report.generate")
        ).all()
    assert [e.detail["format"] for e in made if e.detail] == ["json", "csv", "html"]


def _ink(png: Path) -> float:
    """Share of pixels that are not (near) white."""
    pixels = np.asarray(Image.open(png).convert("L"))
    return float((pixels < 200).mean())


@pytest.mark.slow
def test_pdf_pages_render_and_are_not_blank(
    settings: Settings, history: tuple[int, str], tmp_path: Path
) -> None:
    target = tmp_path / "report.pdf"
    result = CliRunner().invoke(
        cli, ["report", *PERIOD, "--format", "pdf", "--output", str(target)], env=_env(settings)
    )
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"%PDF-")
    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(target), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    assert all(_ink(p) > 0.005 for p in pages), [_ink(p) for p in pages]
    text = subprocess.run(
        ["pdftotext", str(target), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert history[1] in re.sub(r"\s+", "", text)  # the chain head, printed


def test_bad_periods_and_formats_are_refused(settings: Settings, database: Database) -> None:
    runner = CliRunner()
    env = _env(settings)
    for args, message in (
        (["--from", "2026-05-01"], "--from DATE --to DATE"),
        (["--from", "2026-05-02", "--to", "2026-05-01"], "must be after"),
        (["--from", "May", "--to", "2026-05-01"], "not a date"),
        ([*PERIOD, "--format", "docx"], "csv, json, html, pdf"),
    ):
        result = runner.invoke(cli, ["report", *args], env=env)
        assert result.exit_code == 2 and message in result.output, result.output
