"""A local stand-in for NCMEC's CyberTipline Reporting API, on loopback, with the documented
endpoints: `POST /submit` (a `<report>` XML body; answers `<reportResponse>` with the
`responseCode` and the new `reportId`), `POST /finish` (form field `id`; answers
`<reportDoneResponse>`; an already finished report is code 5102), HTTP basic authentication
(401 otherwise), and faults a test can inject: an answer lost after the call was recorded (the
connection closed without a response), or a server error.

Like NCMEC, it refuses a report that is not well-formed XML (code 4110) or does not validate
(4100): here against Rescind's schema of the report (schemas/cybertipline-report.xsd, see
`validation_errors`), plus the documented rule an XSD cannot say (the incident's time is in the
past). Every report the tests file through the stand-in is thereby validated."""

from __future__ import annotations

import base64
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

from lxml import etree

SCHEMA = Path(__file__).parent / "schemas" / "cybertipline-report.xsd"

USER, PASSWORD = "rescind-test", "stand-in-password"


@cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA)))


def validation_errors(xml: bytes | str, *, now: datetime | None = None) -> list[str]:
    """Why `xml` is not a report NCMEC's validation would accept (empty when it is): not well
    formed, not valid against the schema, or an incident time not in the past."""
    body = xml.encode() if isinstance(xml, str) else xml
    try:
        doc = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"malformed: {exc}"]
    schema = _schema()
    if not schema.validate(doc):
        return [f"line {e.line}: {e.message}" for e in schema.error_log]
    at = datetime.fromisoformat(str(doc.findtext("incidentSummary/incidentDateTime")))
    if at > (now or datetime.now(UTC)):
        return ["incidentDateTime: must be in the past"]
    return []


@dataclass
class Filed:
    """A report the stand-in holds."""

    report_id: str
    xml: str
    finished: int = 0  # how many times /finish succeeded on it (must end at 1)


@dataclass
class StandIn:
    """The stand-in's state and fault switches."""

    reports: dict[str, Filed] = field(default_factory=dict)
    submits: int = 0
    finishes: int = 0
    lose_submit_answers: int = 0  # record the report, then hang up without answering
    lose_finish_answers: int = 0  # finish it, then hang up
    submit_server_errors: int = 0  # answer 500 / code 1000 without saving
    # (arrived, release): a /finish sets `arrived` once the report is finished and waits for
    # `release` before answering, so a test can kill the caller in between.
    finish_pause: tuple[threading.Event, threading.Event] | None = None
    submit_pause: tuple[threading.Event, threading.Event] | None = None  # the same for /submit
    next_id: int = 9_000_001
    invalid: list[list[str]] = field(default_factory=list)  # why each refused report failed
    lock: threading.Lock = field(default_factory=threading.Lock)


def _answer(root: str, code: int, report_id: str | None, description: str) -> bytes:
    parts = [f"<responseCode>{code}</responseCode>"]
    parts.append(f"<responseDescription>{description}</responseDescription>")
    if report_id is not None:
        parts.append(f"<reportId>{report_id}</reportId>")
    return f'<?xml version="1.0" encoding="UTF-8"?><{root}>{"".join(parts)}</{root}>'.encode()


def _handler(state: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _hang_up(self) -> None:
            self.close_connection = True
            self.connection.shutdown(2)

        def _authorised(self) -> bool:
            expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if self.headers.get("Authorization") == f"Basic {expected}":
                return True
            self._send(401, _answer("reportResponse", 1, None, "Authentication required"))
            return False

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if not self._authorised():
                return
            path = self.path.removeprefix("/ispws")
            if path == "/submit":
                self._submit(body)
            elif path == "/finish":
                self._finish(body)
            else:
                self._send(404, b"")

        def _submit(self, body: bytes) -> None:
            try:
                ET.fromstring(body)
            except ET.ParseError:
                self._send(400, _answer("reportResponse", 4110, None, "Malformed XML submittal"))
                return
            errors = validation_errors(body)
            if errors:
                with state.lock:
                    state.invalid.append(errors)
                self._send(400, _answer("reportResponse", 4100, None, "Validation failed"))
                return
            with state.lock:
                state.submits += 1
                if state.submit_server_errors:
                    state.submit_server_errors -= 1
                    self._send(500, _answer("reportResponse", 1000, None, "Server error"))
                    return
                report_id = str(state.next_id)
                state.next_id += 1
                state.reports[report_id] = Filed(report_id, body.decode())
                lose = state.lose_submit_answers > 0
                state.lose_submit_answers -= int(lose)
            if state.submit_pause is not None:
                arrived, release = state.submit_pause
                arrived.set()
                release.wait(60)
            if lose:
                self._hang_up()
                return
            self._send(200, _answer("reportResponse", 0, report_id, "Success"))

        def _finish(self, body: bytes) -> None:
            report_id = (parse_qs(body.decode()).get("id") or [""])[0]
            with state.lock:
                state.finishes += 1
                filed = state.reports.get(report_id)
                if filed is None:
                    answer = (404, _answer("reportDoneResponse", 5100, report_id, "No report"))
                elif filed.finished:
                    answer = (409, _answer("reportDoneResponse", 5102, report_id, "Finished"))
                else:
                    filed.finished += 1
                    answer = (200, _answer("reportDoneResponse", 0, report_id, "Success"))
                lose = state.lose_finish_answers > 0
                state.lose_finish_answers -= int(lose)
            if state.finish_pause is not None:
                arrived, release = state.finish_pause
                arrived.set()
                release.wait(60)
            if lose:
                self._hang_up()
                return
            self._send(*answer)

        def log_message(self, *args: object) -> None:
            return

    return Handler


class NcmecStandIn:
    """Start/stop the stand-in on 127.0.0.1."""

    def __init__(self) -> None:
        self.state = StandIn()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The API's base URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/ispws"

    def start(self) -> None:
        """Listen."""
        self.thread.start()

    def stop(self) -> None:
        """Stop listening."""
        self.server.shutdown()
        self.server.server_close()
