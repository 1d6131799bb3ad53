"""StopNCII.org: pull the hashes people registered there, share ours where the person consented,
and send our reviewers' verdicts back (docs/exchange.md).

Built on python-threatexchange's StopNCII client: its endpoint names, authentication headers,
record dataclasses and enums (`tx`). Its HTTP and its mapping are not used, on purpose:

- Its fetch skips a record it cannot parse (and logs the record, hash included); here a page
  is applied whole or not at all, and no hash reaches a log. Its requests session follows
  redirects and has no size bound; here only the configured host is contacted (netguard), no
  redirect is followed, a page is bounded in bytes and in time.
- Its mapping (`stop_ncii_api._get_delta_mapping`, 1.2.17) tests `record.hashValue` for
  Withdrawn/Deleted, which a hash never equals: withdrawn hashes are never removed. Here a hash
  is withdrawn when every one of its cases is Withdrawn or Deleted (`is_withdrawn`).
- Its `submit_hashes` sends `str(signal_type)` ("StopNCIISignalType.ImagePDQ"); here the
  enum's value ("ImagePDQ").

A pull asks FetchHashes for the records changed since our checkpoint (`startTimestamp`), page
after page (`nextPageToken` while `hasMoreRecords`). A page is checked whole, then applied with
the checkpoint's move to its `nextSetTimestamp` in one transaction; a page that fails leaves
the checkpoint where it was, its reason (never a hash) in the log and in `last_error`
(`rescind exchange stopncii status`, `rescind partner list`). Records are snapshots: a record
replaces what we knew of its hash. ImagePDQ and VideoMD5 hashes land in the bank `stopncii`
(action on a match: review); other types (VideoTMK, ...) are kept, counted and shown as
unsupported, never matched.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session
from threatexchange.exchanges.clients.stopncii import api as tx

from rescind.config import Settings
from rescind.exchange.errors import ExchangeError, FeedRefusedError
from rescind.exchange.netguard import check_partner_url, fetch_page
from rescind.jobs import JobRegistry
from rescind.jobs.queue import enqueue
from rescind.media.robust import EQUALISED_PREFIX
from rescind.platform.banks import NewEntry, add_entries, create_bank, withdraw_entries
from rescind.platform.signals import MD5, PDQ
from rescind.security import audit
from rescind.security.crypto import derive_key
from rescind.store.columns import utcnow
from rescind.store.db import instance_session
from rescind.store.models import Bank, BankEntry, ExchangeSource, Job, Request, StopNCIIHash
from rescind.store.statuses import BankEntryStatus, StopNCIIHashStatus

log = logging.getLogger("rescind.exchange")

SOURCE = "stopncii"  # exchange_sources.name, bank_entries.source
BANK = "stopncii"
PULL_TASK = "stopncii.pull"
SUBMIT_JOB = "stopncii.submit"
WITHDRAW_JOB = "stopncii.withdraw"
TICK_S = 5.0  # how often the task looks whether a pull is due; the period is a setting
PAGE_SIZE = 800  # python-threatexchange's default
MAX_PAGES_PER_PULL = 50
MAX_PAGE_BYTES = 32 * 1024 * 1024
MAX_VALUE_CHARS = 1024 * 1024  # a VideoTMK hash is large; anything bigger is garbage
# What a StopNCII signal type becomes here; the others are kept unsupported.
SUPPORTED = {tx.StopNCIISignalType.ImagePDQ: PDQ, tx.StopNCIISignalType.VideoMD5: MD5}
_HEX_DIGITS = {tx.StopNCIISignalType.ImagePDQ: 64, tx.StopNCIISignalType.VideoMD5: 32}
GONE = frozenset({tx.StopNCIICaseStatus.Withdrawn, tx.StopNCIICaseStatus.Deleted})
VERDICT_FEEDBACK = {
    "ncii": tx.StopNCIICSPFeedbackValue.Blocked,
    "not_ncii": tx.StopNCIICSPFeedbackValue.NotBlocked,
}
_PAGE_KEYS = ("nextSetTimestamp", "hasMoreRecords", "hashRecords")
_RECORD_KEYS = ("lastModtimestamp", "signalType", "hashValue", "caseNumbers")


class StopNCIIError(ExchangeError):
    """StopNCII is not configured, or refused or failed a request."""

    status = 502
    title = "StopNCII problem"


def configured(settings: Settings) -> bool:
    """Whether the adapter is on: a URL and a subscription key."""
    return bool(settings.stopncii_url and settings.stopncii_key)


def _headers(settings: Settings, function_key: SecretStr | None) -> dict[str, str]:
    # The two keys StopNCII's API (Azure API Management) wants, as threatexchange sends them.
    if not configured(settings) or function_key is None:
        raise StopNCIIError("StopNCII is not configured (RESCIND_STOPNCII_* settings)")
    assert settings.stopncii_key is not None
    return {
        "x-functions-key": function_key.get_secret_value(),
        "Ocp-Apim-Subscription-Key": settings.stopncii_key.get_secret_value(),
    }


def _endpoint(settings: Settings, endpoint: tx.StopNCIIEndpoint) -> str:
    base = check_partner_url(
        settings.stopncii_url or "", allow_private=settings.exchange_allow_private
    )
    return f"{base}/{endpoint.value}"


CASE_KEY_PURPOSE = "stopncii-case"


def _case_ref(key: bytes, case_id: str) -> str:
    return hmac.new(key, case_id.encode(), hashlib.sha256).hexdigest()[:32]


def case_digest(settings: Settings, case_id: str) -> str:
    """A keyed digest standing for a StopNCII case id in our database."""
    return _case_ref(derive_key(settings, CASE_KEY_PURPOSE), case_id)


def hash_digest(signal_type: str, value: str) -> str:
    """The identity of a StopNCII hash record (type and value), as stored."""
    return hashlib.sha256(f"{signal_type}\x00{value}".encode()).hexdigest()


def is_withdrawn(record: tx.StopNCIIHashRecord) -> bool:
    """A hash is withdrawn when every case behind it is Withdrawn or Deleted. With no case
    listed, the record's aggregate `hashStatus` decides. (Never `record.hashValue`: that is the
    hash itself, which is what python-threatexchange 1.2.17 compares.)"""
    if record.caseNumbers:
        return all(status in GONE for status in record.caseNumbers.values())
    return record.hashStatus in GONE


# --- Reading a page ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A FetchHashes answer that passed every check."""

    records: list[tx.StopNCIIHashRecord]
    next_token: str
    next_checkpoint: int
    more: bool


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _enum_of(kind: type[Any], value: object, what: str, number: int) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise FeedRefusedError(f"record {number}: unknown {what}") from None


def _record(item: object, number: int) -> tx.StopNCIIHashRecord:
    if not isinstance(item, dict):
        raise FeedRefusedError(f"record {number} is not an object")
    missing = [k for k in _RECORD_KEYS if k not in item]
    if missing:
        raise FeedRefusedError(f"record {number}: missing {', '.join(missing)}")
    if not _int(item["lastModtimestamp"]) or item["lastModtimestamp"] < 0:
        raise FeedRefusedError(f"record {number}: lastModtimestamp is not a timestamp")
    signal_type = _enum_of(tx.StopNCIISignalType, item["signalType"], "signalType", number)
    value = item["hashValue"]
    if not isinstance(value, str) or not 0 < len(value) <= MAX_VALUE_CHARS:
        raise FeedRefusedError(f"record {number}: hashValue is not a hash")
    digits = _HEX_DIGITS.get(signal_type)
    if digits is not None:
        value = value.lower()
        if len(value) != digits or any(c not in "0123456789abcdef" for c in value):
            raise FeedRefusedError(
                f"record {number}: a {signal_type.value} hash is {digits} hex digits"
            )
    cases = item["caseNumbers"]
    if cases == []:  # how some answers spell "no cases" (threatexchange normalises it too)
        cases = {}
    if not isinstance(cases, dict) or not all(isinstance(c, str) and c for c in cases):
        raise FeedRefusedError(f"record {number}: caseNumbers is not a map of case to status")
    statuses = {
        c: _enum_of(tx.StopNCIICaseStatus, s, "case status", number) for c, s in cases.items()
    }
    aggregate = _enum_of(
        tx.StopNCIICaseStatus, item.get("hashStatus", "Unknown"), "hashStatus", number
    )
    feedbacks = item.get("CSPFeedbacks") or []
    if not isinstance(feedbacks, list):
        raise FeedRefusedError(f"record {number}: CSPFeedbacks is not a list")
    parsed = []
    for fb in feedbacks:
        if not isinstance(fb, dict):
            raise FeedRefusedError(f"record {number}: a CSP feedback is not an object")
        tags = fb.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise FeedRefusedError(f"record {number}: feedback tags are not strings")
        parsed.append(
            tx.StopNCIICSPFeedback(
                _enum_of(tx.StopNCIICSPFeedbackValue, fb.get("feedbackValue"), "feedback", number),
                set(tags),
                str(fb.get("source") or ""),
            )
        )
    return tx.StopNCIIHashRecord(
        lastModtimestamp=item["lastModtimestamp"],
        signalType=signal_type,
        hashValue=value,
        hashStatus=aggregate,
        caseNumbers=statuses,
        CSPFeedbacks=parsed,
    )


def parse_page(body: bytes) -> Page:
    """A FetchHashes answer, checked whole: FeedRefusedError (naming the record, never quoting
    a hash) for anything that is not a well-formed page. (A `nextSetTimestamp` earlier than
    ours is taken as it is: records are snapshots, so going back only fetches some again.)"""
    try:
        page = json.loads(body)
    except (ValueError, RecursionError):
        raise FeedRefusedError("the page is not JSON") from None
    if not isinstance(page, dict) or any(k not in page for k in _PAGE_KEYS):
        raise FeedRefusedError(
            "not a FetchHashes page (nextSetTimestamp, hasMoreRecords, hashRecords)"
        )
    nxt, more, items = page["nextSetTimestamp"], page["hasMoreRecords"], page["hashRecords"]
    token = page.get("nextPageToken") or ""
    if not _int(nxt) or nxt < 0:
        raise FeedRefusedError("the page's nextSetTimestamp is not a timestamp")
    if not isinstance(more, bool) or not isinstance(token, str):
        raise FeedRefusedError("the page's hasMoreRecords or nextPageToken is malformed")
    if more and not token:
        raise FeedRefusedError("more records announced without a nextPageToken")
    if not isinstance(items, list) or len(items) > 10 * PAGE_SIZE:
        raise FeedRefusedError("the page's hashRecords are not a list of at most one page")
    records = [_record(item, number) for number, item in enumerate(items, start=1)]
    return Page(records, token, nxt, more)


# --- Applying a page -----------------------------------------------------------------------------


@dataclass
class PageReport:
    """What applying one page did (counts only: this goes to the audit log)."""

    records: int = 0
    added: int = 0
    withdrawn: int = 0
    unchanged: int = 0
    unsupported: int = 0

    def as_detail(self) -> dict[str, int]:
        """The counts, for the audit log."""
        return dict(self.__dict__)


def stopncii_bank(session: Session, settings: Settings) -> Bank:
    """The bank StopNCII's hashes land in, made on first use: kind `ncii`, action on a match
    `review` (outside lists have false positives: a reviewer decides, nothing is blocked)."""
    bank = session.scalar(select(Bank).where(Bank.name == BANK))
    if bank is None:
        bank = create_bank(
            session, BANK, kind="ncii", threshold=settings.pdq_threshold, on_match="review"
        )
    return bank


def source_state(session: Session, settings: Settings, *, lock: bool = False) -> ExchangeSource:
    """StopNCII's row in `exchange_sources` (made on first use, with its bank)."""
    query = select(ExchangeSource).where(ExchangeSource.name == SOURCE)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        bank = stopncii_bank(session, settings)
        row = ExchangeSource(name=SOURCE, bank_id=bank.id, checkpoint=0)
        session.add(row)
        session.flush()
    return row


def apply_page(session: Session, settings: Settings, bank: Bank, page: Page) -> PageReport:
    """Apply a page's records in the caller's transaction. Each record replaces what we knew
    of its hash; a later record of the same hash in the page wins."""
    report = PageReport(records=len(page.records))
    latest: dict[str, tx.StopNCIIHashRecord] = {}
    for record in page.records:
        latest[hash_digest(record.signalType.value, record.hashValue)] = record
    digests = list(latest)
    known = {
        row.digest: row
        for start in range(0, len(digests), 500)
        for row in session.scalars(
            select(StopNCIIHash).where(StopNCIIHash.digest.in_(digests[start : start + 500]))
        )
    }
    entry_ids = [row.entry_id for row in known.values() if row.entry_id is not None]
    active_entries = {
        e.id: e
        for start in range(0, len(entry_ids), 500)
        for e in session.scalars(
            select(BankEntry).where(
                BankEntry.id.in_(entry_ids[start : start + 500]),
                BankEntry.status == BankEntryStatus.ACTIVE,
            )
        )
    }
    case_key = derive_key(settings, CASE_KEY_PURPOSE)
    now = utcnow()
    fresh: list[dict[str, Any]] = []  # hashes never seen: inserted in bulk below
    to_bank: list[tuple[str, str, dict[str, Any] | StopNCIIHash]] = []
    to_withdraw: list[BankEntry] = []
    for digest, record in latest.items():
        withdrawn = is_withdrawn(record)
        supported = record.signalType in SUPPORTED
        fields: dict[str, Any] = {
            "signal_type": record.signalType.value,
            "value": record.hashValue,
            "supported": supported,
            "status": StopNCIIHashStatus.WITHDRAWN if withdrawn else StopNCIIHashStatus.ACTIVE,
            "cases": {_case_ref(case_key, c): st.value for c, st in record.caseNumbers.items()},
            "last_modified": record.lastModtimestamp,
            "updated_at": now,
        }
        row = known.get(digest)
        target: dict[str, Any] | StopNCIIHash
        if row is None:
            target = {"digest": digest, "entry_id": None, **fields}
            fresh.append(target)
            entry = None
        else:
            for name, value in fields.items():
                setattr(row, name, value)
            target = row
            entry = active_entries.get(row.entry_id) if row.entry_id is not None else None
        if not supported:
            report.unsupported += 1
        elif withdrawn and entry is not None:
            to_withdraw.append(entry)
            report.withdrawn += 1
        elif not withdrawn and entry is None:
            to_bank.append((SUPPORTED[record.signalType], record.hashValue, target))
            report.added += 1
        else:
            report.unchanged += 1
    if to_withdraw:
        withdraw_entries(session, to_withdraw)
    if to_bank:
        ids = add_entries(
            session, bank, [NewEntry(kind, value) for kind, value, _ in to_bank], source=SOURCE
        )
        for (_kind, _value, target), entry_id in zip(to_bank, ids, strict=True):
            if isinstance(target, dict):
                target["entry_id"] = entry_id
            else:
                target.entry_id = entry_id
    if fresh:
        session.execute(insert(StopNCIIHash), fresh)
    session.flush()
    return report


# --- Pulling -------------------------------------------------------------------------------------


@dataclass
class PullResult:
    """What one pull did."""

    pages: int = 0
    added: int = 0
    withdrawn: int = 0
    unsupported: int = 0
    error: str | None = None
    backlog: bool = False  # stopped at MAX_PAGES_PER_PULL with more to come


def _client(settings: Settings) -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(settings.exchange_timeout_s), follow_redirects=False)


def _fetch(client: httpx.Client, settings: Settings, start: int, token: str) -> bytes:
    url = _endpoint(settings, tx.StopNCIIEndpoint.FetchHashes)
    params: dict[str, Any] = {"startTimestamp": start, "pageSize": PAGE_SIZE}
    if token:
        params["nextPageToken"] = token
    body, _ = fetch_page(
        client,
        url,
        who="StopNCII",
        params=params,
        headers=_headers(settings, settings.stopncii_fetch_key),
        max_bytes=MAX_PAGE_BYTES,
        timeout_s=settings.exchange_timeout_s,
    )
    return body


def _apply(engine: Engine, settings: Settings, page: Page, checkpoint: int) -> PageReport | None:
    with instance_session(engine, settings) as session, session.begin():
        state = source_state(session, settings, lock=True)
        if state.checkpoint != checkpoint:
            return None  # another worker pulled meanwhile
        bank = session.get(Bank, state.bank_id) if state.bank_id else None
        if bank is None:
            bank = stopncii_bank(session, settings)
            state.bank_id = bank.id
        report = apply_page(session, settings, bank, page)
        state.checkpoint = page.next_checkpoint
        state.last_ok_at = state.last_pull_at = utcnow()
        state.last_error = None
        audit.record(
            session, "system", "stopncii.pulled", subject_type="exchange_source",
            subject_id=state.id,
            detail={"after": checkpoint, "next": page.next_checkpoint, **report.as_detail()},
        )  # fmt: skip
        return report


def _due_again(engine: Engine, settings: Settings) -> None:
    # More records wait (a first pull, a large change): the next pull is due on the task's
    # next tick, so the backlog drains in slices and other jobs run in between.
    with instance_session(engine, settings) as session, session.begin():
        source_state(session, settings).last_pull_at = None


def _record_error(engine: Engine, settings: Settings, message: str) -> None:
    log.warning("pull from StopNCII failed: %s", message)
    with instance_session(engine, settings) as session, session.begin():
        state = source_state(session, settings)
        state.last_error = message[:500]
        state.last_pull_at = utcnow()
        audit.record(
            session, "system", "stopncii.pull_failed", subject_type="exchange_source",
            subject_id=state.id, detail={"checkpoint": state.checkpoint, "error": message[:500]},
        )  # fmt: skip


def pull(engine: Engine, settings: Settings, *, client: httpx.Client | None = None) -> PullResult:
    """Pull StopNCII from our checkpoint until it has no more records, or MAX_PAGES_PER_PULL
    pages (then the next pull is due at once). Each page is applied whole with the
    checkpoint's move, or not at all."""
    if not configured(settings):
        raise StopNCIIError("StopNCII is not configured (RESCIND_STOPNCII_URL, _KEY, _FETCH_KEY)")
    with instance_session(engine, settings) as session, session.begin():
        checkpoint = source_state(session, settings).checkpoint
    start = checkpoint  # one query, paged by its token; the checkpoint moves page by page
    http = client or _client(settings)
    result = PullResult()
    token = ""
    try:
        for _ in range(MAX_PAGES_PER_PULL):
            page = parse_page(_fetch(http, settings, start, token))
            report = _apply(engine, settings, page, checkpoint)
            if report is None:
                break
            result.pages += 1
            result.added += report.added
            result.withdrawn += report.withdrawn
            result.unsupported += report.unsupported
            checkpoint, token = page.next_checkpoint, page.next_token
            if not page.more:
                break
        else:
            result.backlog = True
            _due_again(engine, settings)
    except ExchangeError as exc:
        result.error = exc.detail
        _record_error(engine, settings, exc.detail)
    except Exception as exc:  # the worker must keep running; the type only (no data)
        result.error = f"internal error ({type(exc).__name__})"
        _record_error(engine, settings, result.error)
    finally:
        if client is None:
            http.close()
    return result


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def pull_due(session: Session, settings: Settings, now: datetime) -> None:
    """The periodic task: pull StopNCII when configured and its last pull is old enough."""
    if not configured(settings):
        return
    state = session.scalar(select(ExchangeSource).where(ExchangeSource.name == SOURCE))
    last = state.last_pull_at if state is not None else None
    session.rollback()  # release the read transaction (SQLite) before pulling
    if last is None or last + timedelta(seconds=settings.stopncii_pull_s) <= now:
        pull(_engine(session), settings)


# --- What operators see --------------------------------------------------------------------------


@dataclass
class Status:
    """StopNCII's state here: checkpoint, last pull, and the hashes by type and status."""

    configured: bool
    checkpoint: int
    last_pull_at: datetime | None
    last_ok_at: datetime | None
    last_error: str | None
    counts: dict[tuple[str, str, bool], int] = field(default_factory=dict)

    @property
    def unsupported(self) -> int:
        """Records kept but never matched (VideoTMK, ...)."""
        return sum(n for (_t, _s, supported), n in self.counts.items() if not supported)


def status(session: Session, settings: Settings) -> Status:
    """The state an operator sees (`rescind exchange stopncii status`); counts, never hashes."""
    state = session.scalar(select(ExchangeSource).where(ExchangeSource.name == SOURCE))
    counts: Counter[tuple[str, str, bool]] = Counter()
    for signal_type, row_status, supported in session.execute(
        select(StopNCIIHash.signal_type, StopNCIIHash.status, StopNCIIHash.supported)
    ):
        counts[(signal_type, str(row_status), bool(supported))] += 1
    return Status(
        configured=configured(settings),
        checkpoint=state.checkpoint if state else 0,
        last_pull_at=state.last_pull_at if state else None,
        last_ok_at=state.last_ok_at if state else None,
        last_error=state.last_error if state else None,
        counts=dict(counts),
    )


# --- Sharing our cases and our verdicts ----------------------------------------------------------


def _post(
    settings: Settings,
    endpoint: tx.StopNCIIEndpoint,
    key: SecretStr | None,
    payload: dict[str, Any],
) -> None:
    url = _endpoint(settings, endpoint)
    headers = _headers(settings, key)
    try:
        with _client(settings) as client:
            response = client.post(url, json=payload, headers=headers)
    except httpx.HTTPError as exc:
        raise StopNCIIError(f"cannot reach StopNCII ({type(exc).__name__})") from None
    if not 200 <= response.status_code < 300:
        raise StopNCIIError(f"StopNCII answered HTTP {response.status_code}")


def _feedback_item(value: tx.StopNCIICSPFeedbackValue) -> dict[str, Any]:
    return tx.StopNCIICSPFeedback(value, {"rescind"}).as_dict_for_post()


def _shareable(session: Session, request_id: int, *, active: bool) -> list[str]:
    """The case's PDQ hashes StopNCII may get. Not a smooth picture's (a gradient): StopNCII's
    platforms match every hash at their own threshold, and a gradient's would meet other
    gradients there (docs/matching.md, "Smooth pictures")."""
    smooth = func.coalesce(BankEntry.provenance["smooth"].as_boolean(), False)
    variant = func.coalesce(BankEntry.provenance["variant"].as_string(), "")
    query = select(BankEntry.value).where(
        BankEntry.request_id == request_id,
        BankEntry.signal_type == PDQ,
        ~smooth,
        # Nor a flat picture's equalised views (rescind.exchange.transfer.equalised).
        ~variant.startswith(EQUALISED_PREFIX, autoescape=True),
    )
    if active:
        query = query.where(BankEntry.status == BankEntryStatus.ACTIVE)
    return sorted(set(session.scalars(query)))


def queue_submission(session: Session, settings: Settings, request: Request) -> bool:
    """After a case's hashes were banked: share them with StopNCII if, and only if, the person
    consented and submission is configured (a job, so the decision never waits on StopNCII).
    Returns whether a job was queued."""
    if not request.share_consent or not configured(settings) or not settings.stopncii_submit_key:
        return False
    hashes = _shareable(session, request.id, active=True)
    if not hashes:
        return False
    key = hashlib.sha256("\x00".join(hashes).encode()).hexdigest()[:16]
    job = enqueue(
        session, SUBMIT_JOB, {"request_id": request.id},
        unique_key=f"{SUBMIT_JOB}:{request.id}:{key}",
    )  # fmt: skip
    return job is not None


def _withdrawn(session: Session, request_id: int) -> list[str]:
    """The case's PDQ hashes it withdrew and banks under no active entry of it (an appeal may
    withdraw one item's hashes while the case's others stand)."""
    withdrawn = set(_shareable(session, request_id, active=False))
    return sorted(withdrawn - set(_shareable(session, request_id, active=True)))


def queue_withdrawal(session: Session, request: Request) -> bool:
    """After a case was withdrawn or restored (whole, or one item on appeal): tell StopNCII
    (feedback `Withdrawn`) about the hashes we shared for it that it no longer holds. Nothing
    is sent for a case we never shared; one job per set of hashes withdrawn."""
    shared = session.scalar(
        select(Job.id).where(
            Job.kind == SUBMIT_JOB, Job.unique_key.startswith(f"{SUBMIT_JOB}:{request.id}:")
        )
    )
    hashes = _withdrawn(session, request.id)
    if shared is None or not hashes:
        return False
    key = hashlib.sha256("\x00".join(hashes).encode()).hexdigest()[:16]
    job = enqueue(
        session, WITHDRAW_JOB, {"request_id": request.id},
        unique_key=f"{WITHDRAW_JOB}:{request.id}:{key}",
    )  # fmt: skip
    return job is not None


def submit_case(session: Session, settings: Settings, payload: dict[str, Any]) -> None:
    """Job handler: submit a consented case's active PDQ hashes to StopNCII (SubmitHashes) as
    Blocked by us. Consent is read again here: withdrawn consent sends nothing."""
    request = session.get(Request, int(payload["request_id"]))
    if request is None or not request.share_consent:
        return
    hashes = _shareable(session, request.id, active=True)
    if not hashes:
        return
    now = int(time.time())
    feedback = _feedback_item(tx.StopNCIICSPFeedbackValue.Blocked)
    records = [
        {
            "lastModtimestamp": now,
            "signalType": tx.StopNCIISignalType.ImagePDQ.value,  # not str(enum): see above
            "hashValue": value,
            "CSPFeedbacks": [feedback],
        }
        for value in hashes
    ]
    _post(
        settings, tx.StopNCIIEndpoint.SubmitHashes, settings.stopncii_submit_key,
        {"count": len(records), "hashRecords": records},
    )  # fmt: skip
    audit.record(
        session, "system", "stopncii.submitted", subject_type="request",
        subject_id=request.case_number, detail={"hashes": len(records)},
    )  # fmt: skip


def withdraw_case(session: Session, settings: Settings, payload: dict[str, Any]) -> None:
    """Job handler: tell StopNCII the hashes we shared for a case and withdrew since (the
    whole case, or an item restored on appeal) are withdrawn."""
    request = session.get(Request, int(payload["request_id"]))
    if request is None:
        return
    hashes = _withdrawn(session, request.id)
    if not hashes:
        return
    _send_feedback(settings, hashes, tx.StopNCIICSPFeedbackValue.Withdrawn)
    audit.record(
        session, "system", "stopncii.withdrawal_sent", subject_type="request",
        subject_id=request.case_number, detail={"hashes": len(hashes)},
    )  # fmt: skip


def _send_feedback(
    settings: Settings, hashes: list[str], value: tx.StopNCIICSPFeedbackValue
) -> None:
    items = [{**_feedback_item(value), "hashValue": h} for h in hashes]
    _post(
        settings, tx.StopNCIIEndpoint.SubmitFeedback, settings.stopncii_feedback_key,
        {"count": len(items), "hashFeedbacks": items},
    )  # fmt: skip


def record_of_entry(session: Session, entry_id: int) -> StopNCIIHash | None:
    """The StopNCII record one of our bank entries came from, if it did."""
    return session.scalar(select(StopNCIIHash).where(StopNCIIHash.entry_id == entry_id))


def send_verdict(
    session: Session, settings: Settings, entry_id: int, verdict: str, *, actor: str = "cli"
) -> None:
    """Send our reviewer's verdict on a match against a StopNCII hash: `ncii` is Blocked,
    `not_ncii` NotBlocked (StopNCII's SubmitFeedback)."""
    if verdict not in VERDICT_FEEDBACK:
        raise StopNCIIError("a verdict is ncii or not_ncii")
    record = record_of_entry(session, entry_id)
    if record is None:
        raise StopNCIIError(f"entry {entry_id} did not come from StopNCII", field="entry_id")
    _send_feedback(settings, [record.value], VERDICT_FEEDBACK[verdict])
    audit.record(
        session, actor, "stopncii.feedback_sent", subject_type="bank_entry", subject_id=entry_id,
        detail={"verdict": verdict, "feedback": VERDICT_FEEDBACK[verdict].value},
    )  # fmt: skip


def register(registry: JobRegistry) -> None:
    """Add the pull task and the sharing jobs to the worker's registry."""
    registry.add_periodic(PULL_TASK, TICK_S, pull_due)
    registry.add_handler(SUBMIT_JOB, submit_case)
    registry.add_handler(WITHDRAW_JOB, withdraw_case)
