"""Pulling partners' feeds: verify each page, apply it all or nothing, then move the cursor.

The worker's periodic task `exchange.pull` pulls every active partner whose last pull is
`RESCIND_EXCHANGE_PULL_S` old. A page is applied, and the partner's cursor moved to its
`next`, in one transaction; a page that fails any check (HTTP error, timeout, oversized,
unsigned, signed by another key, for another cursor, malformed) is refused whole: the error
(never a hash) goes to the log and to the partner's `last_error` (`rescind partner list`), and
the cursor stays where it was, so the next pull retries from there.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.exchange.errors import FeedRefusedError, PartnerError
from rescind.exchange.feed import (
    COLUMNS_FORMAT,
    MAX_COLUMNS_PAGE,
    MAX_PAGE,
    PAGE_FORMAT,
    SIGNATURE_HEADER,
    SMOOTH_FORMAT,
)
from rescind.exchange.format import (
    COLUMNS,
    SMOOTH_COLUMNS,
    EntryColumns,
    entry_from_json,
    read_columns,
)
from rescind.exchange.identity import instance_id_of, verify
from rescind.exchange.netguard import check_partner_url, fetch_page
from rescind.exchange.partners import sealer
from rescind.exchange.transfer import ImportReport, apply_columns
from rescind.jobs import JobRegistry
from rescind.security import audit
from rescind.store.columns import utcnow
from rescind.store.db import instance_session
from rescind.store.models import Bank, BankEntry, ExchangeLink, Partner

log = logging.getLogger("rescind.exchange")

PULL_TASK = "exchange.pull"
TICK_S = 2.0  # how often the task looks for due partners; each partner's period is a setting
# A partner catching up (a million entries) is pulled in one go; a tick pulls at most this many
# pages from one partner before the others get their turn.
MAX_PAGES_PER_PULL = 200
MAX_PAGE_BYTES = 16 * 1024 * 1024  # a full page is about 5 MB
PAGE_SIZE = MAX_COLUMNS_PAGE  # the feed's largest page of columns (rescind-feed/2 and /3)


@dataclass(frozen=True)
class _Target:
    id: int
    name: str
    url: str
    api_key: str
    public_key: str
    banks: str | None
    cursor: int


@dataclass
class _Asked:
    """The feed format one pull asks for: rescind-feed/3 until the source refuses it, then
    rescind-feed/2 for the pull's remaining pages (one request a page, not two). Pages are
    fetched one at a time (the prefetch waits for the page before), so no lock is needed.
    The next pull asks for /3 again: a source may have been upgraded meanwhile."""

    version: int = 3


@dataclass
class PullResult:
    """What one pull of one partner did."""

    pages: int = 0
    applied: int = 0
    withdrawn: int = 0
    error: str | None = None


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _fetch(
    client: httpx.Client, settings: Settings, target: _Target, cursor: int, asked: _Asked
) -> bytes:
    check_partner_url(target.url, allow_private=settings.exchange_allow_private)
    # Columns: half the bytes of rescind-feed/1, read column by column into EntryColumns,
    # 25,000 changes a page. Asked as rescind-feed/3 (columns and `smooth`); a source older
    # than /3 refuses format=3 with HTTP 422 and is asked for /2 (where it shows no smooth
    # entry), and only /2 for the rest of the pull. Pages of rescind-feed/1 are read too.
    params: dict[str, Any] = {"after": cursor, "limit": PAGE_SIZE, "format": asked.version}
    if target.banks:
        params["banks"] = target.banks

    def get() -> tuple[bytes, httpx.Headers]:
        return fetch_page(
            client,
            f"{target.url}/v1/exchange/feed",
            who="the partner",
            params=params,
            headers={"Authorization": f"Bearer {target.api_key}"},
            max_bytes=MAX_PAGE_BYTES,
            timeout_s=settings.exchange_timeout_s,
        )

    try:
        body, headers = get()
    except FeedRefusedError as exc:
        if exc.http_status != 422 or asked.version == 2:
            raise
        params["format"] = asked.version = 2
        body, headers = get()
    signature = headers.get(SIGNATURE_HEADER, "")
    scheme, _, value = signature.partition("=")
    if scheme != "ed25519" or not value:
        raise FeedRefusedError("the page is not signed")
    if not verify(target.public_key, body, value):
        raise FeedRefusedError("bad signature: the page was not signed by the partner's key")
    return body


def _parse(body: bytes, target: _Target, cursor: int) -> tuple[EntryColumns, int, bool]:
    """The page's entries, checked, and its next cursor and `more`. The entries stay columns
    from the JSON to the inserts, with no object per entry: the cyclic garbage collector,
    which is the whole process's (a web server's too) and is never paused here, has little
    to walk while a partner catches up (docs/benchmarks.md)."""
    try:
        page = json.loads(body)
    except (ValueError, RecursionError):
        raise FeedRefusedError("the page is not JSON") from None
    formats = (PAGE_FORMAT, COLUMNS_FORMAT, SMOOTH_FORMAT)
    if not isinstance(page, dict) or page.get("format") not in formats:
        raise FeedRefusedError(f"not a {', '.join(formats)} page")
    instance = instance_id_of(target.public_key)
    if page.get("instance") != instance:
        raise FeedRefusedError("the page names another instance")
    after, nxt = page.get("after"), page.get("next")
    if after != cursor:
        raise FeedRefusedError(f"a page for cursor {after!r}, expected {cursor} (replayed?)")
    if not isinstance(nxt, int) or isinstance(nxt, bool) or nxt < cursor:
        raise FeedRefusedError("the page's next cursor goes backwards")
    if page["format"] in (COLUMNS_FORMAT, SMOOTH_FORMAT):
        if "entries" in page:
            raise FeedRefusedError(f"a {page['format']} page has columns, not entries")
        names = SMOOTH_COLUMNS if page["format"] == SMOOTH_FORMAT else COLUMNS
        try:
            entries = read_columns(page.get("columns"), instance, PAGE_SIZE, names=names)
        except ValueError as exc:
            raise FeedRefusedError(str(exc)) from None
    else:
        entries = _entries(page.get("entries"), instance)
    if len(entries) and nxt == cursor:
        raise FeedRefusedError("entries without a cursor move")
    return entries, nxt, bool(page.get("more"))


def _entries(items: object, instance: str) -> EntryColumns:
    """The entries of a rescind-feed/1 page (a list of exchange-format objects), as columns."""
    if not isinstance(items, list) or len(items) > MAX_PAGE:
        raise FeedRefusedError("the page's entries are not a list of at most one page")
    entries = []
    for number, item in enumerate(items, start=1):
        try:
            entry = entry_from_json(item)
        except ValueError as exc:
            raise FeedRefusedError(f"entry {number} of the page: {exc}") from None
        if entry.source.instance != instance:
            raise FeedRefusedError(f"entry {number} of the page names another source")
        entries.append(entry)
    return EntryColumns.of(entries)


def _fetch_page(
    client: httpx.Client, settings: Settings, target: _Target, cursor: int, asked: _Asked
) -> tuple[EntryColumns, int, bool]:
    """The page after `cursor`, fetched, verified and read (in the prefetching thread)."""
    return _parse(_fetch(client, settings, target, cursor, asked), target, cursor)


def _apply(
    engine: Engine,
    settings: Settings,
    target: _Target,
    entries: EntryColumns,
    cursor: int,
    nxt: int,
) -> ImportReport | None:
    with instance_session(engine, settings) as session, session.begin():
        partner = session.get(Partner, target.id, with_for_update=True)
        if partner is None or partner.cursor != cursor or not partner.active:
            return None  # another worker pulled meanwhile, or the partner was disabled
        bank = session.get(Bank, partner.bank_id) if partner.bank_id else None
        if bank is None:
            raise PartnerError(f"partner {target.name!r} has no bank")
        report = apply_columns(session, bank, entries, source="partner", other_opinion="skip")
        partner.cursor = nxt
        partner.last_ok_at = partner.last_pull_at = utcnow()
        partner.last_error = None
        if len(entries):
            audit.record(
                session, "system", "exchange.pulled", subject_type="partner",
                subject_id=partner.id, detail={"after": cursor, "next": nxt, **report.as_detail()},
            )  # fmt: skip
        return report


def _record_error(engine: Engine, settings: Settings, target: _Target, message: str) -> None:
    log.warning("pull from partner %s failed: %s", target.name, message)
    with instance_session(engine, settings) as session, session.begin():
        partner = session.get(Partner, target.id)
        if partner is not None:
            partner.last_error = message[:500]
            partner.last_pull_at = utcnow()


def pull_partner(
    engine: Engine, settings: Settings, partner_id: int, *, client: httpx.Client | None = None
) -> PullResult:
    """Pull one partner until its feed is exhausted (or MAX_PAGES_PER_PULL pages)."""
    with instance_session(engine, settings) as session:
        row = session.get(Partner, partner_id)
        if row is None:
            raise PartnerError(f"no partner {partner_id}")
        target = _Target(
            row.id, row.name, row.base_url, sealer(settings).open(row.secret_enc),
            row.public_key or "", row.banks, row.cursor,
        )  # fmt: skip
    own = client is None
    http = client or httpx.Client(
        timeout=httpx.Timeout(settings.exchange_timeout_s), follow_redirects=False
    )
    result = PullResult()
    cursor = target.cursor
    # The next page is fetched, verified and read while this one is applied (the partner
    # builds it meanwhile; SQLite and PostgreSQL release the GIL while they write): a partner
    # catching up costs the slower of the two sides, not their sum. A prefetched
    # page is only ever applied after the page before it, with its cursor checked again.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rescind-pull")
    try:
        asked = _Asked()
        pending = pool.submit(_fetch_page, http, settings, target, cursor, asked)
        for number in range(1, MAX_PAGES_PER_PULL + 1):
            entries, nxt, more = pending.result()
            if more and number < MAX_PAGES_PER_PULL:
                pending = pool.submit(_fetch_page, http, settings, target, nxt, asked)
            report = _apply(engine, settings, target, entries, cursor, nxt)
            if report is None:
                break
            result.pages += 1
            result.applied += report.added
            result.withdrawn += report.withdrawn
            cursor = nxt
            if not more:
                break
    except (PartnerError, FeedRefusedError) as exc:
        result.error = exc.detail
        _record_error(engine, settings, target, exc.detail)
    except Exception as exc:  # a partner must never stop the others
        result.error = f"internal error ({type(exc).__name__})"
        _record_error(engine, settings, target, result.error)
    finally:
        pool.shutdown(wait=True)  # a prefetch under way ends within the request timeout
        if own:
            http.close()
    return result


def pull_due(session: Session, settings: Settings, now: datetime) -> None:
    """The periodic task: pull every active partner whose last pull is old enough."""
    engine = _engine(session)
    every = timedelta(seconds=settings.exchange_pull_s)
    due = [
        p.id
        for p in session.scalars(select(Partner).where(Partner.active.is_(True)))
        if p.last_pull_at is None or p.last_pull_at + every <= now
    ]
    session.rollback()  # release the read transaction (SQLite) before pulling
    for partner_id in due:
        pull_partner(engine, settings, partner_id)


def partner_of_entry(session: Session, entry_id: int) -> tuple[Partner, ExchangeLink]:
    """The partner an imported entry came from, and its link (the partner's reference)."""
    row = session.execute(
        select(Partner, ExchangeLink)
        .join(ExchangeLink, ExchangeLink.bank_id == Partner.bank_id)
        .join(BankEntry, BankEntry.id == ExchangeLink.entry_id)
        .where(ExchangeLink.entry_id == entry_id)
    ).first()
    if row is None:
        raise PartnerError(f"entry {entry_id} did not come from a partner", field="entry_id")
    return row[0], row[1]


def send_feedback(
    session: Session,
    settings: Settings,
    entry_id: int,
    verdict: str,
    note: str | None = None,
    *,
    actor: str = "cli",
) -> None:
    """Tell the partner an entry came from what our reviewer found (`ncii` / `not_ncii`)."""
    partner, link = partner_of_entry(session, entry_id)
    url = check_partner_url(partner.base_url, allow_private=settings.exchange_allow_private)
    try:
        response = httpx.post(
            f"{url}/v1/exchange/feedback",
            json={"entry_id": link.remote_id, "verdict": verdict, "note": note},
            headers={"Authorization": f"Bearer {sealer(settings).open(partner.secret_enc)}"},
            timeout=settings.exchange_timeout_s,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        raise PartnerError(f"cannot reach the partner ({type(exc).__name__})") from None
    if response.status_code != 201:
        raise PartnerError(f"the partner answered HTTP {response.status_code}")
    audit.record(
        session, actor, "exchange.feedback_sent", subject_type="bank_entry", subject_id=entry_id,
        detail={"partner": partner.name, "verdict": verdict},
    )  # fmt: skip


def register(registry: JobRegistry) -> None:
    """Add the pull task to the worker's registry."""
    registry.add_periodic(PULL_TASK, TICK_S, pull_due)
