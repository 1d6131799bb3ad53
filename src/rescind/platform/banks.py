"""Banks (named hash sets with a matching policy) and their entries.

Every change to an entry appends a `BankChange` row; each process's matcher follows that feed by
`seq`. On PostgreSQL, writers of the feed take one advisory lock for the rest of their
transaction, so `seq` order is commit order and a follower never skips a row that commits late.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.media.robust import is_equalised, is_half, is_turned
from rescind.platform.errors import BankConflictError, InvalidSignalError, UnknownBankError
from rescind.platform.signals import MD5, PDQ, PDQ_CUT, SHA256, VIDEO_PDQ, PdqHash, Signals
from rescind.security.text import unsafe_in_identifier
from rescind.store.bulk import insert_rows
from rescind.store.columns import utcnow
from rescind.store.models import Bank, BankChange, BankEntry
from rescind.store.statuses import BankEntryStatus

NCII_BANK = "ncii"
ALLOW_BANK = "allow"
KINDS = ("ncii", "allow")
ON_MATCH = ("block", "review")
# Sources of bank entries made for a request: the registry signals of content a reviewer decided
# on (`request`), the hashes a requester sent (`requester`: they ask for review at most, a
# stranger's hash never blocks by itself), and those hashes once a reviewer confirmed one of
# their matches (`requester_confirmed`).
REQUEST_SOURCE = "request"
REQUESTER_SOURCE = "requester"
CONFIRMED_REQUESTER_SOURCE = "requester_confirmed"
_FEED_LOCK_KEY = 0x5245_5343_4246  # "RESCBF": serialises writers of bank_changes


@dataclass(frozen=True)
class BankPolicy:
    """How matches against one bank are judged."""

    id: int
    name: str
    kind: str
    threshold: int
    on_match: str
    enabled: bool


def policy_of(bank: Bank) -> BankPolicy:
    """The immutable policy view of a bank row."""
    return BankPolicy(
        bank.id, bank.name, bank.kind, bank.pdq_threshold, bank.on_match, bank.enabled
    )


def ensure_default_banks(session: Session, settings: Settings) -> None:
    """Create the `ncii` bank and the `allow` list if they do not exist yet."""
    defaults = [
        (NCII_BANK, "ncii", "block"),
        (ALLOW_BANK, "allow", "block"),
    ]
    existing = set(
        session.scalars(select(Bank.name).where(Bank.name.in_([d[0] for d in defaults])))
    )
    for name, kind, on_match in defaults:
        if name in existing:
            continue
        try:
            with session.begin_nested():
                session.add(
                    Bank(
                        name=name,
                        kind=kind,
                        pdq_threshold=settings.pdq_threshold,
                        on_match=on_match,
                    )
                )
        except IntegrityError:  # another process created it at the same moment
            pass


def _check_policy(threshold: int | None, on_match: str | None, kind: str | None) -> None:
    if threshold is not None and not 0 <= threshold <= 128:
        raise InvalidSignalError("threshold must be from 0 to 128 bits", field="pdq_threshold")
    if on_match is not None and on_match not in ON_MATCH:
        raise InvalidSignalError("on_match must be block or review", field="on_match")
    if kind is not None and kind not in KINDS:
        raise InvalidSignalError("kind must be ncii or allow", field="kind")


def get_bank(session: Session, name: str) -> Bank:
    """The bank called `name`, or UnknownBankError."""
    # A name with a control or invisible character names no bank (create_bank refuses them);
    # PostgreSQL would refuse a NUL even in a comparison.
    bank = (
        None
        if unsafe_in_identifier(name)
        else session.scalar(select(Bank).where(Bank.name == name))
    )
    if bank is None:
        raise UnknownBankError(f"no bank is called {name!r}", field="bank")
    return bank


def list_banks(session: Session) -> list[Bank]:
    """Every bank, by name."""
    return list(session.scalars(select(Bank).order_by(Bank.name)))


def create_bank(
    session: Session, name: str, *, kind: str = "ncii", threshold: int = 31, on_match: str = "block"
) -> Bank:
    """A new bank with its policy."""
    _check_policy(threshold, on_match, kind)
    if not name or len(name) > 120:
        raise InvalidSignalError("a bank name has 1-120 characters", field="name")
    if unsafe_in_identifier(name):
        raise InvalidSignalError(
            "a bank name must not contain control or invisible formatting characters",
            field="name",
        )
    if session.scalar(select(Bank.id).where(Bank.name == name)) is not None:
        raise BankConflictError(f"a bank called {name!r} exists", field="name")
    bank = Bank(name=name, kind=kind, pdq_threshold=threshold, on_match=on_match, enabled=True)
    session.add(bank)
    session.flush()
    return bank


def update_bank(
    session: Session,
    name: str,
    *,
    threshold: int | None = None,
    on_match: str | None = None,
    enabled: bool | None = None,
) -> Bank:
    """Change a bank's policy; every matcher picks it up on its next poll."""
    _check_policy(threshold, on_match, None)
    bank = get_bank(session, name)
    if threshold is not None:
        bank.pdq_threshold = threshold
    if on_match is not None:
        bank.on_match = on_match
    if enabled is not None:
        bank.enabled = enabled
    session.flush()
    return bank


@dataclass(frozen=True, slots=True)
class EntryView:
    """What a bank entry says of the picture view it holds, read once: ``variant``, the
    view's name (`full`, `full/rot90`, `crop_c96`, `eq_full`...; None for a hash without
    one: sent, imported, or a video frame or exact hash) and ``smooth``, a smooth picture's
    hash (a gradient), from its provenance (`_entry` writes both keys); its ``quality`` and
    ``cut``, whether it is a cut entry (`pdq_cut`). The view of
    `rescind.media.robust.banked_pair_limit`, for the copy sweep and the matcher alike."""

    variant: str | None = None
    smooth: bool = False
    quality: int | None = None
    cut: bool = False

    @classmethod
    def of(cls, entry: BankEntry) -> EntryView:
        provenance = entry.provenance or {}
        variant = provenance.get("variant")
        return cls(
            variant if isinstance(variant, str) else None,
            bool(provenance.get("smooth")),
            entry.quality,
            entry.signal_type == PDQ_CUT,
        )

    @property
    def turned(self) -> bool:
        """A turned view (`full/rot90`, `crop_c96/flip_h`): it meets whole views only."""
        return self.variant is not None and is_turned(self.variant)

    @property
    def equalised(self) -> bool:
        """A view of a weak picture's equalised copy (`eq_full`, `eq_crop_c96`...)."""
        return self.variant is not None and is_equalised(self.variant)

    @property
    def half(self) -> bool:
        """A half of the picture (`half_t`...): a faint one never meets a faint cut view."""
        return self.variant is not None and is_half(self.variant)


def lock_feed(session: Session) -> None:
    """Serialise writers of the change feed until this transaction ends (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _FEED_LOCK_KEY})


def _append_changes(session: Session, entries: Sequence[BankEntry], op: str) -> None:
    lock_feed(session)
    session.add_all(BankChange(entry_id=e.id, op=op, at=utcnow()) for e in entries)
    session.flush()


def _entry(bank: Bank, signal_type: str, value: str, h: PdqHash | None, **common: Any) -> BankEntry:
    provenance = dict(common.pop("provenance") or {})
    if h is not None and h.orientation:
        provenance["orientation"] = h.orientation
    if h is not None and h.variant:
        provenance["variant"] = h.variant
    if h is not None and h.smooth:
        # A smooth picture's hash (a gradient): the matcher holds it to the weak radius.
        provenance["smooth"] = True
    if h is not None and h.plain:
        # A plain video frame (a title card), judged from the pixels: the copy sweep asks it.
        provenance["plain"] = True
    return BankEntry(
        bank_id=bank.id,
        signal_type=signal_type,
        value=value,
        quality=None if h is None else h.quality,
        t=None if h is None else h.t,
        status=BankEntryStatus.ACTIVE,
        provenance=provenance or None,
        **common,
    )


def add_signals(
    session: Session,
    bank: Bank,
    signals: Signals,
    *,
    source: str,
    request_id: int | None = None,
    provenance: dict[str, Any] | None = None,
) -> list[BankEntry]:
    """Put every signal of one item into `bank` (one entry each) and publish them."""
    common: dict[str, Any] = {
        "source": source,
        "request_id": request_id,
        "provenance": provenance,
        "group_key": uuid.uuid4().hex,  # ties a video's frames (and an image's orientations)
    }
    entries: list[BankEntry] = []
    seen: set[tuple[str, str]] = set()

    def add(signal_type: str, value: str, h: PdqHash | None) -> None:
        if signal_type != VIDEO_PDQ and (signal_type, value) in seen:
            return
        seen.add((signal_type, value))
        entries.append(_entry(bank, signal_type, value, h, **dict(common)))

    for h in signals.pdq:
        add(PDQ_CUT if h.cut else PDQ, h.hash, h)
    for h in signals.frames:
        add(VIDEO_PDQ, h.hash, h)
    if signals.md5:
        add(MD5, signals.md5, None)
    if signals.sha256:
        add(SHA256, signals.sha256, None)
    session.add_all(entries)
    session.flush()
    _append_changes(session, entries, "add")
    return entries


def confirm_requester_entries(session: Session, entries: Iterable[BankEntry]) -> int:
    """A reviewer tied these requester hashes to reported content: they may block from now on
    (every matcher re-reads them from the change feed)."""
    changed = [
        e for e in entries if e.source == REQUESTER_SOURCE and e.status == BankEntryStatus.ACTIVE
    ]
    for entry in changed:
        entry.source = CONFIRMED_REQUESTER_SOURCE
        entry.updated_at = utcnow()
    if changed:
        session.flush()
        _append_changes(session, changed, "update")
    return len(changed)


def withdraw_entries(session: Session, entries: Iterable[BankEntry]) -> int:
    """Withdraw active entries (they stay, marked withdrawn, so withdrawals propagate)."""
    changed = [e for e in entries if e.status == BankEntryStatus.ACTIVE]
    for entry in changed:
        entry.status = BankEntryStatus.WITHDRAWN
        entry.updated_at = utcnow()
    if changed:
        session.flush()
        _append_changes(session, changed, "remove")
    return len(changed)


class NewEntry(NamedTuple):
    """One signal to bank in bulk (an imported or pulled entry). A named tuple: a million of
    them are built per import, at a fraction of a frozen dataclass's cost."""

    signal_type: str
    value: str
    quality: int | None = None
    t: float | None = None
    group_key: str | None = None
    provenance: dict[str, Any] | None = None


def add_entries(
    session: Session, bank: Bank, rows: Sequence[NewEntry], *, source: str
) -> list[int]:
    """Bank many signals at once and publish them on the change feed; returns their ids in
    order. The values must be validated already (rescind.exchange parses them strictly).

    A million rows through the ORM take minutes, so this path reserves the ids itself and
    inserts plain rows: on PostgreSQL from the table's sequence; on SQLite, which has one
    writer at a time, above the highest id (a concurrent writer makes the insert fail whole,
    never interleave)."""
    if not rows:
        return []
    now = utcnow()
    n = len(rows)
    if session.get_bind().dialect.name == "postgresql":
        ids = list(
            session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('bank_entries', 'id')) "
                    "FROM generate_series(1, :n)"
                ),
                {"n": n},
            )
        )
    else:
        first = (session.scalar(select(func.max(BankEntry.id))) or 0) + 1
        ids = list(range(first, first + n))
    bank_id = bank.id
    insert_rows(
        session,
        cast(Table, BankEntry.__table__),
        ("id", "bank_id", "signal_type", "value", "quality", "t", "group_key", "provenance"),
        (
            (i, bank_id, st, value, quality, t, group,
             None if provenance is None else json.dumps(provenance))
            for i, (st, value, quality, t, group, provenance) in zip(ids, rows, strict=True)
        ),
        {"source": source, "status": BankEntryStatus.ACTIVE, "created_at": now, "updated_at": now},
    )  # fmt: skip
    lock_feed(session)
    insert_rows(
        session,
        cast(Table, BankChange.__table__),
        ("entry_id",),
        ((i,) for i in ids),
        {"op": "add", "at": now},
    )
    return ids
