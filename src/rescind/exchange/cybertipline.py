"""NCMEC's CyberTipline Reporting API, as documented at
https://report.cybertip.org/ispws/documentation: the report XML and the calls that file it.

A report is an XML `<report>` (schema `https://report.cybertip.org/ispws/xsd`) with an
`incidentSummary` (incident type and time), `internetDetails` (here a `webPageIncident` with
the content's URLs), the `reporter` and `additionalInfo`. `POST /submit` opens the report and
answers its `reportId`; files would then be uploaded (`/upload`, `/fileinfo`), and
`POST /finish` (form field `id`) completes it. Rescind never holds the imagery, only its
hashes, so no file is uploaded: the hashes travel in the web page incident's `additionalInfo`,
which is what the schema allows without a file. Every answer is a small XML document whose
`responseCode` is 0 on success.

Every report this module writes is checked in the tests against Rescind's own schema of the
elements it uses (tests/exchange/schemas/cybertipline-report.xsd: NCMEC's names, order and
cardinalities, plus the length and format rules of NCMEC's documentation; docs/operator-guide.md,
"Reports to NCMEC", says what it was derived from).

The real API is reachable only by registered providers; this module is tested against a
local stand-in of those endpoints (tests/exchange/ncmec_standin.py)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

SCHEMA_LOCATION = "https://report.cybertip.org/ispws/xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
# The incident type of child sexual abuse material, as the schema spells it.
INCIDENT_CSAM = "Child Pornography (possession, manufacture, and distribution)"
SUCCESS = 0
SERVER_ERROR = 1000
REPORT_ALREADY_RETRACTED = 5101
REPORT_ALREADY_FINISHED = 5102
MAX_ANSWER = 64 * 1024


@dataclass(frozen=True)
class ReportedItem:
    """One reported depiction: where it was, and its hashes."""

    urls: tuple[str, ...] = ()
    content_ids: tuple[str, ...] = ()
    md5: str | None = None
    sha256: str | None = None
    pdq: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """For the preservation record."""
        return {
            "urls": list(self.urls),
            "content_ids": list(self.content_ids),
            "md5": self.md5,
            "sha256": self.sha256,
            "pdq": list(self.pdq),
        }


@dataclass(frozen=True)
class Reporter:
    """The provider's contact for NCMEC (settings `ncmec_reporter_*`)."""

    first_name: str
    last_name: str
    email: str


@dataclass(frozen=True)
class TiplineReportDraft:
    """What one report says."""

    incident_at: datetime
    reporter: Reporter
    items: list[ReportedItem] = field(default_factory=list)
    summary: str = ""


# Characters XML 1.0 does not allow in a document (C0 controls but tab and line ends, lone
# surrogates, U+FFFE and U+FFFF). ElementTree writes them as they are, which makes the whole
# report malformed: NCMEC would refuse it (4110). They carry no meaning in a URL, a content id
# or a name, so they are dropped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """`value` without the characters an XML 1.0 document cannot hold."""
    return _NOT_XML.sub("", value)


def _text(parent: ET.Element, tag: str, value: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = xml_text(value)
    return element


def _hash_lines(item: ReportedItem) -> list[str]:
    lines = [f"MD5: {item.md5}"] if item.md5 else []
    lines += [f"SHA-256: {item.sha256}"] if item.sha256 else []
    lines += [f"PDQ: {h}" for h in item.pdq]
    lines += [f"Platform content id: {c}" for c in item.content_ids]
    return lines


def build_report_xml(draft: TiplineReportDraft) -> str:
    """The `<report>` document for `draft` (UTF-8 XML, declaration included)."""
    ET.register_namespace("xsi", XSI)
    report = ET.Element("report", {f"{{{XSI}}}noNamespaceSchemaLocation": SCHEMA_LOCATION})
    summary = ET.SubElement(report, "incidentSummary")
    _text(summary, "incidentType", INCIDENT_CSAM)
    ET.SubElement(summary, "reportAnnotations")
    at = draft.incident_at.astimezone(UTC).isoformat(timespec="seconds")
    _text(summary, "incidentDateTime", at)
    for item in draft.items:
        details = ET.SubElement(report, "internetDetails")
        incident = ET.SubElement(details, "webPageIncident")
        for url in item.urls:
            if xml_text(url):
                _text(incident, "url", url)
        lines = _hash_lines(item)
        if lines:
            _text(incident, "additionalInfo", "\n".join(lines))
    reporter = ET.SubElement(report, "reporter")
    person = ET.SubElement(reporter, "reportingPerson")
    _text(person, "firstName", draft.reporter.first_name)
    _text(person, "lastName", draft.reporter.last_name)
    _text(person, "email", draft.reporter.email)
    if draft.summary:
        _text(report, "additionalInfo", draft.summary)
    body = ET.tostring(report, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>' + body


class TiplineError(Exception):
    """NCMEC answered with an error, or an answer that cannot be read. `retry`: whether sending
    again may succeed (a server error; nothing was saved there)."""

    def __init__(self, message: str, *, code: int | None = None, retry: bool) -> None:
        super().__init__(message)
        self.code = code
        self.retry = retry


@dataclass(frozen=True)
class TiplineAnswer:
    """A parsed answer: its `responseCode` and `reportId`."""

    code: int
    report_id: str | None


def parse_answer(response: httpx.Response) -> TiplineAnswer:
    """The `responseCode` and `reportId` of an answer; `TiplineError` when there are none."""
    body = response.content
    # An answer is a few hundred bytes with no DTD: refuse anything else before parsing (no
    # entity expansion, no oversized documents).
    if len(body) > MAX_ANSWER or b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise TiplineError(f"unexpected answer (HTTP {response.status_code})", retry=False)
    try:
        root = ET.fromstring(body)  # noqa: S314 - size-capped, DTDs refused above
    except ET.ParseError:
        raise TiplineError(
            f"unreadable answer (HTTP {response.status_code})", retry=response.status_code >= 500
        ) from None
    code_text = root.findtext("responseCode")
    if code_text is None or not code_text.strip().lstrip("-").isdigit():
        raise TiplineError(
            f"answer without a response code (HTTP {response.status_code})",
            retry=response.status_code >= 500,
        )
    report_id = (root.findtext("reportId") or "").strip() or None
    return TiplineAnswer(int(code_text.strip()), report_id)


class TiplineClient:
    """The two calls Rescind makes, with HTTP basic authentication."""

    def __init__(
        self, base_url: str, username: str, password: str, *, timeout_s: float = 30.0
    ) -> None:
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            auth=(username, password),
            timeout=timeout_s,
            follow_redirects=False,
        )

    def submit(self, report_xml: str) -> str:
        """Open the report; its NCMEC report id. Raises `TiplineError` for an error answer and
        httpx errors when the connection fails (the caller tells which may have reached NCMEC)."""
        response = self.client.post(
            "/submit",
            content=report_xml.encode(),
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )
        answer = parse_answer(response)
        if answer.code != SUCCESS or answer.report_id is None or response.status_code >= 300:
            raise TiplineError(
                f"submit refused: code {answer.code} (HTTP {response.status_code})",
                code=answer.code,
                retry=response.status_code >= 500 or answer.code == SERVER_ERROR,
            )
        return answer.report_id

    def finish(self, report_id: str) -> None:
        """Complete the report. A report NCMEC says is already finished is finished."""
        response = self.client.post("/finish", data={"id": report_id})
        answer = parse_answer(response)
        if answer.code in (SUCCESS, REPORT_ALREADY_FINISHED):
            return
        raise TiplineError(
            f"finish refused: code {answer.code} (HTTP {response.status_code})",
            code=answer.code,
            retry=response.status_code >= 500 or answer.code == SERVER_ERROR,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()
