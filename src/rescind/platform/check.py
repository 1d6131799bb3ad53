"""The check service: judge one upload against the banks and record it in the registry.

The verdict is the strictest outcome over the banks matched: `block`, `review` or `allow`.
An allow-list match ("not NCII") overrides everything. A PDQ match where either hash has a
quality below the minimum never blocks on its own; it asks for review at most, and so does a
hash a requester supplied until a reviewer confirmed one of its matches (`Hit.review_only`).
Callers get the bank and case reference of each match, never a distance (the API must not be a
distance oracle).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.platform.matcher import Hit, Matcher
from rescind.platform.registry_writer import PendingWrite, RegistryWriter
from rescind.platform.signals import Signals
from rescind.store.models import Content, Match

ALLOW, REVIEW, BLOCK = "allow", "review", "block"
_RANK = {ALLOW: 0, REVIEW: 1, BLOCK: 2}


@dataclass(frozen=True)
class MatchRef:
    """What a caller learns about one match: the bank, and the case behind the entry if any."""

    bank: str
    case_number: str | None = None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check."""

    content_id: str
    verdict: str
    matches: tuple[MatchRef, ...]
    hits: tuple[Hit, ...]


def judge(hits: Sequence[Hit]) -> tuple[str, tuple[MatchRef, ...]]:
    """The verdict and the caller-visible matches for a set of hits."""
    if any(h.bank.kind == "allow" for h in hits):
        return ALLOW, ()
    verdict = ALLOW
    refs: set[MatchRef] = set()
    for hit in hits:
        outcome = hit.bank.on_match
        if (hit.low_quality or hit.review_only) and outcome == BLOCK:
            outcome = REVIEW
        if _RANK[outcome] > _RANK[verdict]:
            verdict = outcome
        refs.add(MatchRef(hit.bank.name, hit.case_number))
    return verdict, tuple(sorted(refs, key=lambda r: (r.bank, r.case_number or "")))


def record_matches(session: Session, content: Content, hits: Sequence[Hit], found_by: str) -> int:
    """Store a `Match` per hit not stored yet for this content; returns how many were new."""
    if not hits:
        return 0
    known = set(
        session.scalars(
            select(Match.bank_entry_id).where(
                Match.content_pk == content.id,
                Match.bank_entry_id.in_([h.entry_id for h in hits]),
            )
        )
    )
    new = [h for h in hits if h.entry_id not in known]
    session.add_all(
        Match(
            content_pk=content.id,
            bank_entry_id=h.entry_id,
            request_id=h.request_id,
            distance=h.distance,
            found_by=found_by,
        )
        for h in new
    )
    return len(new)


def prepare_check(
    matcher: Matcher, content_id: str, *, url: str | None, signals: Signals
) -> tuple[CheckResult, PendingWrite]:
    """The verdict on `signals`, and the registry write that must be durable before it is
    answered (hand it to `RegistryWriter.write` or `.submit`)."""
    hits = matcher.match(signals)
    verdict, refs = judge(hits)
    recorded = tuple(h for h in hits if h.bank.kind != "allow") if verdict != ALLOW else ()
    pending = PendingWrite(content_id, url, signals, recorded, verdict == BLOCK)
    return CheckResult(content_id, verdict, refs, tuple(hits)), pending


def check_and_record(
    writer: RegistryWriter, matcher: Matcher, content_id: str, *, url: str | None, signals: Signals
) -> CheckResult:
    """Judge `signals`, and record the content (and its matches) in the registry: the write
    joins a group commit (see `registry_writer`); returns once it is durable."""
    result, pending = prepare_check(matcher, content_id, url=url, signals=signals)
    writer.write(pending)
    return result
