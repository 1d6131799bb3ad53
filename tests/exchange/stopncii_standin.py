"""A local stand-in for StopNCII.org's hash exchange API (the real one is not reachable here).

A real HTTP server on loopback, in a thread, speaking the API as python-threatexchange's
StopNCII client (`threatexchange.exchanges.clients.stopncii.api`, 1.2.17) documents it:

- `GET /v1/FetchHashes?startTimestamp=&pageSize=[&nextPageToken=]`: the hash records changed
  at or after `startTimestamp`, oldest change first, `pageSize` per page:
  `{"count", "nextPageToken", "nextSetTimestamp", "hasMoreRecords", "hashRecords": [...]}`,
  each record `{"lastModtimestamp", "signalType", "hashValue", "hashStatus", "caseNumbers":
  {case id: status}, "CSPFeedbacks": [...]}`. A record is the hash's whole current state (all
  its cases). `nextSetTimestamp` is where a client may resume: the last change the page
  covers, or, on the last page, the time of the query.
- `POST /v1/SubmitHashes` `{"count", "hashRecords": [{"lastModtimestamp", "signalType",
  "hashValue", "CSPFeedbacks": [...]}]}` and `POST /v1/SubmitFeedback` `{"count",
  "hashFeedbacks": [{"hashValue", "feedbackValue", "tags"}]}`: kept in `submitted` /
  `feedback`.

Every request must carry `Ocp-Apim-Subscription-Key` and the endpoint's `x-functions-key`
(else 401). `misbehave` makes the next FetchHashes answers garbage, an HTTP error, or slow.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SUBSCRIPTION_KEY = "sub-key"  # test values, not secrets
FUNCTION_KEYS = {
    "FetchHashes": "fetch-key",
    "SubmitHashes": "submit-key",
    "SubmitFeedback": "fb-key",
}


@dataclass
class Misbehaviour:
    """What the next FetchHashes answer does instead of answering well."""

    body: bytes | None = None
    status: int = 200
    delay_s: float = 0.0


@dataclass
class StandIn:
    """The stand-in's state: records by (signal type, hash), and what it received."""

    records: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    by_case: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    submitted: list[dict[str, Any]] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    fetches: list[dict[str, str]] = field(default_factory=list)
    misbehave: list[Misbehaviour] = field(default_factory=list)
    clock: int = 1_700_000_000
    page_cap: int = 800  # at most this many records a page, whatever the client asks
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _tick(self) -> int:
        self.clock += 1
        return self.clock

    def add_case(self, case_id: str, value: str, signal_type: str = "ImagePDQ") -> None:
        """A person registered `value` under `case_id` (a hash may have many cases)."""
        with self.lock:
            record = self.records.setdefault(
                (signal_type, value),
                {"signalType": signal_type, "hashValue": value, "caseNumbers": {},
                 "CSPFeedbacks": []},
            )  # fmt: skip
            record["caseNumbers"][case_id] = "Active"
            self.by_case.setdefault(case_id, []).append((signal_type, value))
            self._touch(record)

    def set_case(self, case_id: str, status: str) -> None:
        """A case changed status (Withdrawn, Deleted...): every hash of it changes."""
        with self.lock:
            for key in self.by_case.get(case_id, []):
                record = self.records[key]
                record["caseNumbers"][case_id] = status
                self._touch(record)

    def _touch(self, record: dict[str, Any]) -> None:
        record["lastModtimestamp"] = self._tick()
        statuses = set(record["caseNumbers"].values())
        # The aggregate StopNCII reports: Active while any case is.
        record["hashStatus"] = "Active" if "Active" in statuses else sorted(statuses)[0]

    def page(self, start: int, size: int, token: str) -> dict[str, Any]:
        """One FetchHashes answer."""
        with self.lock:
            if token:
                cursor = json.loads(base64.urlsafe_b64decode(token))
                offset, until = cursor["offset"], cursor["until"]
            else:
                offset, until = 0, self._tick()
            changed = sorted(
                (r for r in self.records.values() if start <= r["lastModtimestamp"] < until),
                key=lambda r: (r["lastModtimestamp"], r["signalType"], r["hashValue"]),
            )
            chunk = [json.loads(json.dumps(r)) for r in changed[offset : offset + size]]
            more = offset + size < len(changed)
            nxt = chunk[-1]["lastModtimestamp"] if more else until
            token_out = (
                base64.urlsafe_b64encode(
                    json.dumps({"offset": offset + size, "until": until}).encode()
                ).decode()
                if more
                else None
            )
            return {"count": len(chunk), "nextPageToken": token_out, "nextSetTimestamp": nxt,
                    "hasMoreRecords": more, "hashRecords": chunk}  # fmt: skip


def _handler(state: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _endpoint(self) -> str | None:
            parts = urlsplit(self.path)
            name = parts.path.removeprefix("/v1/")
            if name not in FUNCTION_KEYS or not parts.path.startswith("/v1/"):
                self._answer(404, b'{"error":"not found"}')
                return None
            if (
                self.headers.get("Ocp-Apim-Subscription-Key") != SUBSCRIPTION_KEY
                or self.headers.get("x-functions-key") != FUNCTION_KEYS[name]
            ):
                self._answer(401, b'{"error":"unauthorized"}')
                return None
            return name

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self._endpoint() != "FetchHashes":
                return
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            state.fetches.append(query)
            trouble = state.misbehave.pop(0) if state.misbehave else None
            if trouble is not None:
                time.sleep(trouble.delay_s)
                if trouble.body is not None or trouble.status != 200:
                    self._answer(trouble.status, trouble.body or b"{}")
                    return
            page = state.page(
                int(query.get("startTimestamp", "10")),
                min(int(query.get("pageSize", "800")), state.page_cap),
                query.get("nextPageToken", ""),
            )
            self._answer(200, json.dumps(page).encode())

        def do_POST(self) -> None:
            name = self._endpoint()
            if name is None:
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            if name == "SubmitHashes":
                state.submitted.extend(body["hashRecords"])
            elif name == "SubmitFeedback":
                state.feedback.extend(body["hashFeedbacks"])
            self._answer(200, b"{}")

    return Handler


@contextmanager
def running() -> Iterator[StandIn]:
    """A stand-in listening on a free loopback port; `state.url` is its API base URL."""
    state = StandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
