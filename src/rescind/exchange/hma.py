"""What the HMA-compatible routes (`/m/...`, `/c/...`, `/h/hash`) do, over our banks and matcher.

A platform integrated with Meta's Hasher-Matcher-Actioner moves to Rescind by changing its base
URL and adding an API key; this module speaks HMA's terms:

- **Bank names**: HMA spells them in UPPER_SNAKE. Each of our banks is shown under its name in
  upper case with every character outside `A-Z0-9_` made `_` (`ncii` is `NCII`); a name given
  to us is our bank of exactly that name, else the one bank shown under it.
- **Content ids**: HMA banks *content* (one picture, one video) and answers its id. We bank an
  item as several entries (a picture's orientations and crops, a video's frames) tied by one
  `group_key`: the item's id is the smallest id among its entries, and removing it withdraws
  them all.
- **Signal types**: HMA's `pdq` and `video_md5` (HMA's default ones).
- **Verdicts**: our rules hold. An allow-list match ("not NCII") answers no match at all; each
  match says `action`: `block`, or `review` for a bank that asks for review, a low-quality PDQ
  match, or a requester's hash no reviewer has confirmed (never an automatic removal).
- **Distances** are never answered for bank matches (no distance oracle, docs/security-model.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.platform.banks import (
    add_signals,
    create_bank,
    get_bank,
    list_banks,
    withdraw_entries,
)
from rescind.platform.errors import (
    BankConflictError,
    EntryNotFoundError,
    InvalidSignalError,
    UnknownBankError,
)
from rescind.platform.matcher import Hit, Matcher
from rescind.platform.signals import MD5, PDQ, PDQ_CUT, SHA256, VIDEO_PDQ, Signals, parse_signals
from rescind.store.models import Bank, BankEntry
from rescind.store.statuses import BankEntryStatus

# HMA's signal type names and ours (HMA's default configuration enables these two).
SIGNAL_TYPES = {"pdq": PDQ, "video_md5": MD5}
BLOCK, REVIEW = "block", "review"
NOTE_MAX = 255  # HMA's limit on a content note
_BANK_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_OTHER = re.compile(r"[^A-Z0-9_]")


def hma_name(bank_name: str) -> str:
    """A bank's name as HMA spells bank names: upper case, any other character `_`, never
    starting with a digit."""
    text = _OTHER.sub("_", bank_name.upper())
    return "_" + text if text[:1].isdigit() else text


def resolve_bank(session: Session, name: str) -> Bank:
    """Our bank called `name`, else the one bank HMA names `name` (UnknownBankError if none,
    BankConflictError if several)."""
    try:
        return get_bank(session, name)
    except UnknownBankError:
        pass
    found = [b for b in list_banks(session) if hma_name(b.name) == name]
    if len(found) > 1:
        raise BankConflictError(
            f"bank '{name}' stands for {len(found)} banks; call one by its own name"
        )
    if not found:
        raise UnknownBankError(f"bank '{name}' not found")
    return found[0]


def bank_config(bank: Bank) -> dict[str, Any]:
    """HMA's bank configuration object. We match a bank always or never: ratio 1 or 0."""
    return {"name": hma_name(bank.name), "matching_enabled_ratio": 1.0 if bank.enabled else 0.0}


def _ratio(enabled_ratio: object, enabled: object) -> bool:
    if enabled_ratio is not None:
        if isinstance(enabled_ratio, bool) or not isinstance(enabled_ratio, int | float):
            raise InvalidSignalError("enabled_ratio must be a number", field="enabled_ratio")
        if enabled_ratio not in (0, 1):
            raise InvalidSignalError(
                "Rescind matches a bank always or never: enabled_ratio must be 0 or 1",
                field="enabled_ratio",
            )
        return bool(enabled_ratio)
    if enabled is not None:
        if not isinstance(enabled, bool):
            raise InvalidSignalError("enabled must be true or false", field="enabled")
        return enabled
    return True


def create_hma_bank(
    session: Session, settings: Settings, name: object, *, enabled_ratio: object, enabled: object
) -> Bank:
    """A new bank (kind `ncii`, blocking on match, the default threshold) named as HMA names
    banks; BankConflictError when the name already stands for a bank."""
    if not isinstance(name, str) or not _BANK_NAME.fullmatch(name) or len(name) > 120:
        raise InvalidSignalError(
            "Bank names must be UPPER_WITH_UNDERSCORE (letters, digits, _; not a digit first)",
            field="name",
        )
    matching = _ratio(enabled_ratio, enabled)
    try:
        resolve_bank(session, name)
    except UnknownBankError:
        bank = create_bank(session, name, threshold=settings.pdq_threshold)
        bank.enabled = matching
        session.flush()
        return bank
    raise BankConflictError("Bank already exists")


def signals_of(signal_type: object, value: object) -> Signals:
    """One hash of an HMA signal type as our signals (InvalidSignalError if the type is not
    served or the value is not a valid hash)."""
    if not isinstance(signal_type, str) or signal_type not in SIGNAL_TYPES:
        raise InvalidSignalError(f"No such SignalType '{signal_type}'", field="signal_type")
    ours = SIGNAL_TYPES[signal_type]
    if ours == PDQ:
        return parse_signals(pdq=[value], prefix="signal:")
    return parse_signals(md5=value, prefix="signal:")


def signals_of_mapping(values: Mapping[str, object]) -> Signals:
    """Several hashes keyed by HMA signal type (the body of `POST /c/bank/{name}/signal`)."""
    if not values:
        raise InvalidSignalError("No signals given", field="body")
    pdq: list[object] = []
    md5: object = None
    for signal_type, value in values.items():
        one = signals_of(signal_type, value)
        pdq.extend(h.hash for h in one.pdq)
        md5 = one.md5 or md5
    return parse_signals(pdq=pdq, md5=md5)


def signal_values(signals: Signals, *, video: bool) -> dict[str, str]:
    """The HMA signals of an item we hashed or were given: `pdq` (the picture as it is) for a
    picture, `video_md5` for a video (or a given MD5)."""
    out: dict[str, str] = {}
    plain = [h for h in signals.pdq if h.orientation == 0 and not h.cut]
    if plain and not video:
        out["pdq"] = plain[0].hash
    if signals.md5 and (video or not plain):
        out["video_md5"] = signals.md5
    return out


def compare(signal_type: str, pair: object, threshold: int) -> list[Any]:
    """HMA's comparison of two hashes the caller holds: `[match, {"distance": bits}]` for PDQ
    (a match within `threshold` bits), `[equal, {}]` for MD5. No bank is involved."""
    if not isinstance(pair, list) or len(pair) != 2:
        raise InvalidSignalError(
            f"Comparison hash list for {signal_type} must have exactly 2 hashes", field=signal_type
        )
    left, right = (signals_of(signal_type, v) for v in pair)
    if left.pdq and right.pdq:
        bits = (int(left.pdq[0].hash, 16) ^ int(right.pdq[0].hash, 16)).bit_count()
        return [bits <= threshold, {"distance": bits}]
    return [left.md5 == right.md5, {}]


@dataclass(frozen=True)
class LookupMatch:
    """One banked item a lookup found, as HMA reports it (plus our `action`)."""

    signal_type: str  # HMA's name of the signal that matched
    bank: str  # HMA's name of the bank
    content_id: int
    action: str  # block | review


def _action(hit: Hit) -> str:
    if hit.bank.on_match == BLOCK and not (hit.low_quality or hit.review_only):
        return BLOCK
    return REVIEW


def _signal_name(signal_type: str, *, video: bool) -> str:
    if signal_type in (PDQ, PDQ_CUT):
        return "pdq"
    if signal_type == VIDEO_PDQ:
        return "vpdq"
    if signal_type == MD5:
        return "video_md5" if video else "md5"
    return "video_sha256" if video and signal_type == SHA256 else signal_type


def item_ids(session: Session, refs: Iterable[tuple[int, int, str | None]]) -> dict[int, int]:
    """The item id (smallest entry id of its group) of each entry, from (entry id, bank id,
    group key) triples; an entry banked alone is its own item."""
    refs = list(refs)
    keys = {g for _, _, g in refs if g}
    first: dict[tuple[int, str], int] = {}
    if keys:
        rows = session.execute(
            select(BankEntry.bank_id, BankEntry.group_key, func.min(BankEntry.id))
            .where(BankEntry.group_key.in_(sorted(keys)))
            .group_by(BankEntry.bank_id, BankEntry.group_key)
        )
        first = {(b, str(g)): i for b, g, i in rows}
    return {e: first.get((b, g), e) if g else e for e, b, g in refs}


def lookup(
    session: Session,
    matcher: Matcher,
    signals: Signals,
    *,
    banks: set[str] | None = None,
    video: bool = False,
) -> list[LookupMatch]:
    """The banked items `signals` match, one per (signal type, bank, item), strictest action
    first kept; none when an allow-list bank matches. `banks` keeps only those HMA names."""
    hits = matcher.match(signals)
    if any(h.bank.kind == "allow" for h in hits):
        return []
    if banks is not None:
        hits = [h for h in hits if hma_name(h.bank.name) in banks or h.bank.name in banks]
    refs = []
    for hit in hits:
        entry = matcher.entries.get(hit.entry_id)
        refs.append((hit.entry_id, hit.bank.id, None if entry is None else entry.group_key))
    ids = item_ids(session, refs) if refs else {}
    found: dict[tuple[str, str, int], str] = {}
    for hit in hits:
        key = (
            _signal_name(hit.signal_type, video=video),
            hma_name(hit.bank.name),
            ids[hit.entry_id],
        )
        action = _action(hit)
        if found.get(key) != BLOCK:
            found[key] = action
    return [LookupMatch(s, b, c, a) for (s, b, c), a in sorted(found.items())]


def bank_item(
    session: Session,
    bank: Bank,
    signals: Signals,
    *,
    actor: str,
    note: str | None,
    metadata: dict[str, Any] | None,
) -> int:
    """Bank one item's signals (every matcher picks them up); returns the item id."""
    if signals.empty:
        raise InvalidSignalError("No signals given", field="body")
    provenance: dict[str, Any] = {"by": actor, "via": "hma"}
    if note:
        provenance["note"] = note
    if metadata:
        provenance["metadata"] = metadata
    entries = add_signals(session, bank, signals, source="reviewer", provenance=provenance)
    return min(e.id for e in entries)


def check_note(note: object) -> str | None:
    """A content note as HMA takes it: a string of at most 255 characters, or nothing."""
    if not note:
        return None
    if not isinstance(note, str):
        raise InvalidSignalError("note should be a string", field="note")
    if len(note) > NOTE_MAX:
        raise InvalidSignalError(f"note must be at most {NOTE_MAX} characters", field="note")
    return note


@dataclass(frozen=True)
class BankedItem:
    """One banked item: its id, whether it still matches, and its entries."""

    id: int
    active: bool
    entries: tuple[BankEntry, ...]

    @property
    def note(self) -> str | None:
        """The note it was banked with, if any."""
        provenance = self.entries[0].provenance or {}
        note = provenance.get("note")
        return note if isinstance(note, str) else None

    @property
    def metadata(self) -> dict[str, Any] | None:
        """The HMA metadata it was banked with, if any."""
        provenance = self.entries[0].provenance or {}
        metadata = provenance.get("metadata")
        return metadata if isinstance(metadata, dict) else None


def get_item(session: Session, bank: Bank, content_id: int) -> BankedItem:
    """The item of `bank` that entry `content_id` belongs to (EntryNotFoundError if none)."""
    entry = session.get(BankEntry, content_id)
    if entry is None or entry.bank_id != bank.id:
        raise EntryNotFoundError(f"content '{content_id}' not found", field="content_id")
    if entry.group_key is None:
        entries = [entry]
    else:
        entries = list(
            session.scalars(
                select(BankEntry)
                .where(BankEntry.bank_id == bank.id, BankEntry.group_key == entry.group_key)
                .order_by(BankEntry.id)
            )
        )
    active = any(e.status == BankEntryStatus.ACTIVE for e in entries)
    return BankedItem(entries[0].id, active, tuple(entries))


def withdraw_item(session: Session, item: BankedItem) -> int:
    """Withdraw every entry of `item`; 1 if it was matching, 0 if it was withdrawn already."""
    return 1 if withdraw_entries(session, item.entries) else 0


def set_note(item: BankedItem, note: str | None) -> None:
    """Replace the note of `item`."""
    head = item.entries[0]
    provenance = dict(head.provenance or {})
    if note:
        provenance["note"] = note
    else:
        provenance.pop("note", None)
    head.provenance = provenance or None
