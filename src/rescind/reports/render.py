"""A report as JSON, CSV, HTML (with SVG charts and print styles) or PDF.

Every figure links to the console's list of the cases behind it
(`/console/compliance/cases?from=&to=&figure=`), and every missed deadline to its case; links
start with `RESCIND_PUBLIC_BASE_URL` so a saved file still leads there. Each format names the
audit chain head the figures were computed from.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from importlib import resources
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from rescind.locale import translations
from rescind.reports import figures
from rescind.reports.figures import (
    BUCKETS_H,
    CLOCK_NAMES,
    MISSED_REASONS,
    Distribution,
    MissedCase,
    Report,
    bucket_label,
)
from rescind.reports.svg import Series, bar_chart

FORMATS = ("csv", "json", "html", "pdf")
CHROMIUM = "/usr/bin/chromium"


class PdfUnavailable(RuntimeError):
    """No Chromium to print the PDF with."""


def period_query(report: Report) -> dict[str, str]:
    return {"from": report.start.isoformat(), "to": report.end.isoformat()}


class Links:
    """Console URLs of the cases behind each figure (absolute from `base`, or relative)."""

    def __init__(self, report: Report, base: str = "") -> None:
        self.base = base.rstrip("/")
        self.period = period_query(report)

    def figure(self, key: str) -> str:
        query = urlencode({**self.period, "figure": key})
        return f"{self.base}/console/compliance/cases?{query}"

    def case(self, case_number: str) -> str:
        # `quote` returns a number of unreserved characters unchanged: skip its pure-Python
        # work for those (a quarter of the JSON report's time at 1M cases).
        if _UNRESERVED(case_number) is None:
            case_number = quote(case_number)
        return f"{self.base}/console/cases/{case_number}"


# What `quote` (safe="/") leaves as it is: ASCII letters, digits, "_.-~" and "/".
_UNRESERVED = re.compile(r"[A-Za-z0-9_.\-~/]*", re.ASCII).fullmatch


class _Encoded(dict[str, str]):
    """`encode_basestring_ascii` of strings that repeat (a clock, a status, a reason),
    each encoded once."""

    def __missing__(self, key: str) -> str:
        self[key] = value = encode_basestring_ascii(key)
        return value


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _distribution_json(d: Distribution) -> dict[str, Any]:
    return {
        "count": d.count,
        "median_h": _hours(d.median),
        "p90_h": _hours(d.p90),
        "p99_h": _hours(d.p99),
        "max_h": _hours(d.max),
        "histogram": {bucket_label(i): n for i, n in enumerate(d.buckets)},
    }


def to_json(report: Report, links: Links) -> dict[str, Any]:
    """Every figure, with the links to its cases."""
    return _json(report, links, [_missed_json(m, links) for m in report.missed])


def _missed_json(m: MissedCase, links: Links) -> dict[str, Any]:
    return {
        "case_number": m.case_number,
        "clock": m.clock,
        "status": m.status,
        "received_at": m.received_at.isoformat(),
        "deadline_at": m.deadline_at.isoformat(),
        "removed_at": m.removed_at.isoformat() if m.removed_at else None,
        "decided_at": m.decided_at.isoformat() if m.decided_at else None,
        "reason": m.reason,
        "link": links.case(m.case_number),
    }


def _json(report: Report, links: Links, missed: Any) -> dict[str, Any]:
    return {
        "period": {"from": report.start.isoformat(), "to": report.end.isoformat()},
        "computed_at": report.computed_at.isoformat(),
        "audit_chain_head": {"id": report.chain_head_id, "hash": report.chain_head_hash},
        "requests": {
            "received": report.received,
            "valid": report.valid,
            "decided": report.decided,
            "removed": report.removed,
            "rejected": report.rejected,
            "rejected_by_reason": report.rejected_by_reason,
            "withdrawn": report.withdrawn,
            "removal_pending": report.removal_pending,
            "open": report.open,
        },
        "decisions": {"automated": report.decisions_automated, "human": report.decisions_human},
        "leads": {
            "confirmed": report.leads_confirmed,
            "dismissed": report.leads_dismissed,
            "unconfirmed": report.leads_unconfirmed,
        },
        "copies": {
            "total": report.copies_total,
            "per_valid_request": report.copies_per_valid_request,
            "max": report.copies_max,
            "requests_by_copies": report.copies_by_bucket,
        },
        "clocks": [
            {
                "clock": c.clock,
                "hours": c.hours,
                "cases": c.cases,
                "valid": c.valid,
                "met": c.met,
                "missed": c.missed,
                "time_to_removal": {
                    "items": _distribution_json(c.items),
                    "copies": _distribution_json(c.copies),
                },
                "links": {"cases": links.figure(f"clock:{c.clock}")},
            }
            for c in report.clocks
        ],
        "missed": missed,
        "missed_by_reason": report.missed_by_reason,
        "per_day": [{"day": d, "received": r, "removed": x} for d, r, x in report.per_day],
        "appeals": {
            "total": report.appeals,
            "by_status": report.appeals_by_status,
            "by_kind": report.appeals_by_kind,
            "restores": report.restores,
            "restores_confirmed": report.restores_confirmed,
            "links": {
                key: links.figure(f"appeals:{key}")
                for key in (*report.appeals_by_status, *report.appeals_by_kind)
            },
        },
        "links": {
            key: links.figure(key)
            for key in (
                "received",
                "valid",
                "decided",
                "removed",
                "rejected",
                "withdrawn",
                "removal_pending",
                "open",
                "missed",
                "automated",
                "human",
                "leads:confirmed",
                "leads:dismissed",
                "copies",
                "appeals",
                "restores",
            )
        },
    }


# One missed case as `json.dumps(..., indent=1)` lays out an object in the "missed" list.
_MISSED_KEYS = (
    "case_number",
    "clock",
    "status",
    "received_at",
    "deadline_at",
    "removed_at",
    "decided_at",
    "reason",
    "link",
)
_MISSED_TEMPLATE = "  {\n" + ",\n".join(f'   "{key}": %s' for key in _MISSED_KEYS) + "\n  }"


def to_json_text(report: Report, links: Links) -> str:
    """`json.dumps(to_json(report, links), indent=1)`, the same text, written faster: the
    list of missed cases (a quarter of a million at 1M cases) is laid out by a template
    instead of the standard library's pure-Python indenting encoder."""
    if not report.missed:
        return json.dumps(to_json(report, links), indent=1)
    marker = f"rescind-missed-{secrets.token_hex(16)}"
    text = json.dumps(_json(report, links, marker), indent=1)
    string = encode_basestring_ascii
    missed = report.missed
    times = [
        _json_times([getattr(m, key) for m in missed])
        for key in ("received_at", "deadline_at", "removed_at", "decided_at")
    ]
    repeated = _Encoded()
    case_link = links.case
    rows = [
        _MISSED_TEMPLATE
        % (
            string(m.case_number),
            repeated[m.clock],
            repeated[m.status],
            received,
            deadline,
            removed,
            decided,
            repeated[m.reason],
            string(case_link(m.case_number)),
        )
        for m, received, deadline, removed, decided in zip(missed, *times, strict=True)
    ]
    before, _, after = text.partition(f'"{marker}"')
    return before + "[\n" + ",\n".join(rows) + "\n ]" + after


def _json_times(values: list[datetime | None]) -> list[str]:
    """`json.dumps(v.isoformat())` ("null" for None) of each value, the UTC ones formatted
    together by numpy from their microseconds since the epoch: several times faster than one
    `isoformat()` each (which spends most of its time on the time zone)."""
    present = [v for v in values if v is not None]
    stamps = np.fromiter((v.timestamp() for v in present), dtype=np.float64, count=len(present))
    # Below 4e9 s (year 2096), timestamp() * 1e6 is within 0.5 us of the exact microsecond.
    if not all(v.tzinfo is UTC for v in present) or not ((stamps >= 0) & (stamps < 4e9)).all():
        return ["null" if v is None else encode_basestring_ascii(v.isoformat()) for v in values]
    micros = np.rint(stamps * 1e6).astype(np.int64)
    text = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
    whole = micros % 1_000_000 == 0  # isoformat() leaves out a zero fraction
    text[whole] = np.datetime_as_string(micros[whole].astype("datetime64[us]"), unit="s")
    formatted = iter(text.tolist())
    return ["null" if v is None else f'"{next(formatted)}+00:00"' for v in values]


def to_csv(report: Report, links: Links) -> str:
    """One row per figure: section, figure, clock, value, link (then one row per missed case)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["section", "figure", "clock", "value", "link"])
    w.writerow(["report", "period_from", "", report.start.isoformat(), ""])
    w.writerow(["report", "period_to", "", report.end.isoformat(), ""])
    w.writerow(["report", "computed_at", "", report.computed_at.isoformat(), ""])
    w.writerow(["report", "audit_chain_head_id", "", report.chain_head_id or "", ""])
    w.writerow(["report", "audit_chain_head_hash", "", report.chain_head_hash or "", ""])
    for key in ("received", "valid", "decided", "removed", "rejected", "withdrawn"):
        w.writerow(["requests", key, "", getattr(report, key), links.figure(key)])
    w.writerow(
        ["requests", "removal_pending", "", report.removal_pending, links.figure("removal_pending")]
    )
    w.writerow(["requests", "open", "", report.open, links.figure("open")])
    for reason, n in report.rejected_by_reason.items():
        w.writerow(["rejected_by_reason", reason, "", n, links.figure(f"rejected:{reason}")])
    w.writerow(
        ["decisions", "automated", "", report.decisions_automated, links.figure("automated")]
    )
    w.writerow(["decisions", "human", "", report.decisions_human, links.figure("human")])
    w.writerow(["leads", "confirmed", "", report.leads_confirmed, links.figure("leads:confirmed")])
    w.writerow(["leads", "dismissed", "", report.leads_dismissed, links.figure("leads:dismissed")])
    w.writerow(["leads", "unconfirmed", "", report.leads_unconfirmed, ""])
    w.writerow(["copies", "total", "", report.copies_total, links.figure("copies")])
    per = report.copies_per_valid_request
    w.writerow(["copies", "per_valid_request", "", "" if per is None else f"{per:.3f}", ""])
    w.writerow(["copies", "max", "", report.copies_max, ""])
    for bucket, n in report.copies_by_bucket.items():
        w.writerow(["requests_by_copies", bucket, "", n, ""])
    for c in report.clocks:
        link = links.figure(f"clock:{c.clock}")
        w.writerow(["clock", "hours", c.clock, c.hours, ""])
        w.writerow(["clock", "cases", c.clock, c.cases, link])
        w.writerow(["clock", "valid", c.clock, c.valid, ""])
        w.writerow(["clock", "met", c.clock, c.met, links.figure(f"met:{c.clock}")])
        w.writerow(["clock", "missed", c.clock, c.missed, links.figure(f"missed:{c.clock}")])
        for what, d in (("items", c.items), ("copies", c.copies)):
            w.writerow([f"time_to_removal_{what}", "count", c.clock, d.count, link])
            for name in ("median", "p90", "p99", "max"):
                value = _hours(getattr(d, name))
                w.writerow(
                    [
                        f"time_to_removal_{what}",
                        f"{name}_h",
                        c.clock,
                        "" if value is None else value,
                        "",
                    ]
                )
            for i, n in enumerate(d.buckets):
                w.writerow([f"time_to_removal_{what}", bucket_label(i), c.clock, n, ""])
    for day, received, removed in report.per_day:
        w.writerow(["per_day", f"{day} received", "", received, links.figure(f"day:{day}")])
        w.writerow(["per_day", f"{day} removed", "", removed, ""])
    w.writerow(["appeals", "total", "", report.appeals, links.figure("appeals")])
    for key, n in (*report.appeals_by_status.items(), *report.appeals_by_kind.items()):
        w.writerow(["appeals", key, "", n, links.figure(f"appeals:{key}")])
    w.writerow(["restores", "total", "", report.restores, links.figure("restores")])
    w.writerow(["restores", "confirmed", "", report.restores_confirmed, ""])
    for reason, n in report.missed_by_reason.items():
        w.writerow(["missed_by_reason", reason, "", n, links.figure("missed")])
    for m in report.missed:
        w.writerow(["missed", m.case_number, m.clock, m.reason, links.case(m.case_number)])
    return out.getvalue()


def environment() -> Environment:
    """The report templates, with the console's catalogue (staff read reports)."""
    env = Environment(
        loader=FileSystemLoader(str(resources.files("rescind.reports") / "templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["_"] = translations("en", "console").gettext
    return env


def charts(report: Report, links: Links) -> dict[str, Markup]:
    """The time-to-removal histograms (items, copies) and cases per day, as SVG."""
    names = [translations("en", "console").gettext(CLOCK_NAMES[c.clock]) for c in report.clocks]
    labels = [bucket_label(i) for i in range(len(BUCKETS_H) + 1)]
    out = {}
    for what, title in (
        ("items", "Time from receipt to confirmed removal: reported items"),
        ("copies", "Time from receipt to confirmed removal: copies found"),
    ):
        out[what] = bar_chart(
            translations("en", "console").gettext(title),
            labels,
            [
                Series(
                    name,
                    getattr(c, what).buckets,
                    (links.figure(f"clock:{c.clock}"),) * len(labels),
                )
                for name, c in zip(names, report.clocks, strict=True)
            ],
        )
    days = [d for d, _r, _x in report.per_day]
    out["per_day"] = bar_chart(
        translations("en", "console").gettext("Cases per day (UTC)"),
        days,
        [
            Series(
                translations("en", "console").gettext("received"),
                tuple(r for _d, r, _x in report.per_day),
                tuple(links.figure(f"day:{d}") for d in days),
            ),
            Series(
                translations("en", "console").gettext("removed (confirmed)"),
                tuple(x for _d, _r, x in report.per_day),
                (None,) * len(days),
            ),
        ],
        label_every=max(len(days) // 10, 1),
    )
    return out


def html_body(report: Report, links: Links, *, missed_limit: int = 1000) -> Markup:
    """The report's figures and charts, to embed in a page (the console) or a document."""
    template = environment().get_template("report_body.html")
    return Markup(  # noqa: S704 - rendered by an autoescaping template
        template.render(
            report=report,
            links=links,
            charts=charts(report, links),
            clock_names=CLOCK_NAMES,
            reasons=MISSED_REASONS,
            hours=_hours,
            missed=report.missed[:missed_limit],
            missed_limit=missed_limit,
        )
    )


def to_html(report: Report, links: Links, *, title: str = "Rescind") -> str:
    """A standalone, printable HTML document (styles inline, nothing fetched)."""
    return (
        environment()
        .get_template("report.html")
        .render(report=report, body=html_body(report, links), platform=title)
    )


def to_pdf(html: str, *, chromium: str = CHROMIUM, timeout_s: float = 120.0) -> bytes:
    """The HTML printed to PDF by headless Chromium (already a dependency of the browser
    tests; no PDF library needed). Raises PdfUnavailable without it."""
    if not (Path(chromium).is_file() or shutil.which(chromium)):
        raise PdfUnavailable(f"{chromium} not found: install chromium (make system-deps)")
    with tempfile.TemporaryDirectory(prefix="rescind-report-") as tmp:
        source, target = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        source.write_text(html, encoding="utf-8")
        subprocess.run(  # noqa: S603 - our own arguments, no shell
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                f"--user-data-dir={tmp}/profile",
                "--no-pdf-header-footer",
                f"--print-to-pdf={target}",
                source.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=timeout_s,
        )
        if not target.is_file() or target.stat().st_size == 0:
            raise PdfUnavailable("chromium wrote no PDF")
        return target.read_bytes()


def render(report: Report, fmt: str, *, base_url: str, title: str = "Rescind") -> bytes:
    """The report in `fmt` (one of FORMATS)."""
    links = Links(report, base_url)
    if fmt == "json":
        return to_json_text(report, links).encode()
    if fmt == "csv":
        return to_csv(report, links).encode()
    html = to_html(report, links, title=title)
    if fmt == "html":
        return html.encode()
    if fmt == "pdf":
        return to_pdf(html)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}")


__all__ = ["FORMATS", "Links", "PdfUnavailable", "figures", "render"]
