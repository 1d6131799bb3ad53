"""A "remove" decision actions what each item names, finds exactly its copies, and writes one
action each; the requester's own hashes only ever produce leads for a reviewer."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from rescind.config import Settings
from rescind.platform.banks import ensure_default_banks
from rescind.platform.check import check_and_record
from rescind.platform.enforce import enforce_removal
from rescind.platform.media_signals import bank_signals_from_media, media_limits
from rescind.platform.runtime import PlatformRuntime
from rescind.platform.signals import EXACT_TYPES, PdqHash, Signals
from rescind.platform.sweep import exact_match_query
from rescind.store import Database
from rescind.store.models import (
    EXACT_SIGNALS,
    Action,
    BankChange,
    BankEntry,
    Content,
    Job,
    Match,
)
from tests.e2e.media import jpeg, reported
from tests.platform.helpers import flip, gradient, make_request, random_pdq, video_of

LIMITS = media_limits(10**8)


def _register(runtime: PlatformRuntime, items: dict[str, Signals]) -> None:
    for content_id, signals in items.items():
        check_and_record(
            runtime.writer,
            runtime.matcher,
            content_id,
            url=f"https://p.example/{content_id}",
            signals=signals,
        )


def test_removal_banks_sweeps_and_writes_one_action_per_copy(
    settings: Settings, database: Database
) -> None:
    rng = random.Random(6)
    runtime = PlatformRuntime(settings, database.engine)
    reported = random_pdq(rng)
    items = {
        "orig": Signals(pdq=(PdqHash(reported, 90),)),
        "near": Signals(pdq=(PdqHash(flip(reported, 12, rng), 90),)),
        "edge": Signals(pdq=(PdqHash(flip(reported, 31, rng), 90),)),
        "far": Signals(pdq=(PdqHash(flip(reported, 40, rng), 90),)),
        "blurry": Signals(pdq=(PdqHash(flip(reported, 5, rng), 20),)),
        "md5copy": Signals(md5="a" * 32),
    }
    items |= {f"other{i}": Signals(pdq=(PdqHash(random_pdq(rng), 90),)) for i in range(50)}
    with database.session() as session:
        ensure_default_banks(session, settings)
    runtime.sync_all()
    _register(runtime, items)
    with database.session() as session:
        request = make_request(
            session,
            "RSC-TEST-0001",
            [{"url": "https://p.example/orig", "md5": "a" * 32}, {"content_id": "gone-42"}],
        )
        result = enforce_removal(session, settings, request, runtime=runtime)
        assert {c.content_id for c in result.named} == {"orig"}
        # Copies of the registered content the reviewer decided on are actioned; the MD5 the
        # requester typed is their word only: its match is a lead.
        assert {c.content_id for c in result.copies} == {"near", "edge"}
        assert {c.content_id for c in result.review} == {"blurry"}
        leads = [session.get(Content, lead.content_pk) for lead in result.leads]
        assert [c.content_id for c in leads if c is not None] == ["md5copy"]
        actioned = sorted(a.content_id for a in result.actions)
        assert actioned == ["edge", "gone-42", "near", "orig"]
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Action)) == 4
        assert session.scalar(select(func.count()).select_from(Job)) == 4
        entries = session.scalar(select(func.count()).select_from(BankEntry))
        assert entries and entries == session.scalar(select(func.count()).select_from(BankChange))
        assert session.scalar(select(func.count()).select_from(Match)) == 4
        # Running it again (a retried decision) changes nothing.
        request = session.get(type(request), request.id)
        assert request is not None
        again = enforce_removal(session, settings, request, runtime=runtime)
        assert {a.id for a in again.actions} == {a.id for a in result.actions}
        assert again.leads == []  # the lead exists already
        assert session.scalar(select(func.count()).select_from(Action)) == 4

    # The bank entry is effective for new uploads, with the case number, after one sync.
    runtime.sync_all()
    hit = check_and_record(
        runtime.writer,
        runtime.matcher,
        "reupload",
        url=None,
        signals=Signals(pdq=(PdqHash(flip(reported, 8, rng), 80),)),
    )
    assert hit.verdict == "block"
    assert [(m.bank, m.case_number) for m in hit.matches] == [("ncii", "RSC-TEST-0001")]
    # The check's registry write recorded the blocked upload and its match.
    with database.session() as session:
        reupload = session.scalars(select(Content).where(Content.content_id == "reupload")).one()
        assert reupload.state == "blocked"
        matched = select(func.count()).select_from(Match).where(Match.content_pk == reupload.id)
        assert session.scalar(matched) == len(hit.hits) >= 1


def test_exact_hash_lookup_is_an_index_lookup(database: Database) -> None:
    # A sweep looks every exact-hash copy up by value: in a registry of millions that must be
    # the partial index of exact hashes (PDQ rows stay out of it), never a scan of the table.
    assert all(f"'{kind}'" in EXACT_SIGNALS for kind in EXACT_TYPES)  # every exact kind
    query = exact_match_query("md5", "a" * 32)
    with database.engine.connect() as conn:
        compiled = query.compile(dialect=conn.dialect)
        sql = str(compiled)
        if conn.dialect.name == "sqlite":
            params = tuple(compiled.params[name] for name in compiled.positiontup or ())
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
            detail = " ".join(str(row[-1]) for row in plan)
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = conn.exec_driver_sql(f"EXPLAIN {sql}", compiled.params).all()
            detail = " ".join(str(row[0]) for row in plan)
    assert "ix_content_signals_exact" in detail, detail


def test_a_requesters_views_are_banked_as_a_file_banks_them(
    settings: Settings, database: Database
) -> None:
    """The views a requester's device sent by name become the entries `POST /v1/banks/{name}/
    entries` makes from the file: same types (`pdq_cut` for orientations, crops and tilts, `pdq`
    for trimmed views, weak ones only when cut), same qualities, variant names kept; a view
    that is not well formed (validated at intake already) is skipped, never banked."""
    runtime = PlatformRuntime(settings, database.engine)
    server = bank_signals_from_media(jpeg(reported()), media_limits(10**8))
    views = [{"variant": s.variant, "quality": s.quality, "hash": s.hash} for s in server.pdq]
    # What only a hostile store could hold: never banked.
    views += [
        {"variant": "nonsense", "quality": 90, "hash": "a" * 64},
        {"variant": "crop_c92", "quality": 101, "hash": "b" * 64},
        {"variant": "crop_c88", "quality": 90, "hash": "z" * 64},
    ]
    # A weak trimmed view: left out (kept only when cut), as for a file.
    views.append({"variant": "trimmed_jpeg", "quality": 20, "hash": "c" * 64})
    with database.session() as session:
        ensure_default_banks(session, settings)
        request = make_request(
            session,
            "RSC-TEST-0002",
            [{"url": "https://p.example/x", "pdq": [server.pdq[0].hash], "views": views}],
        )
        enforce_removal(session, settings, request, runtime=runtime)
        entries = session.scalars(
            select(BankEntry).where(
                BankEntry.request_id == request.id, BankEntry.signal_type.like("pdq%")
            )
        ).all()
        got = [
            (e.signal_type, e.value, e.quality, (e.provenance or {}).get("variant"))
            for e in entries
        ]
        assert {e.source for e in entries} == {"requester"}
    expected = [("pdq_cut" if s.cut else "pdq", s.hash, s.quality, s.variant) for s in server.pdq]
    assert sorted(got) == sorted(expected)
    assert any(v == "full/rot90" for *_, v in got) and any(v == "tilt+4" for *_, v in got)


@pytest.mark.parametrize("flagged", [True, False])
def test_a_requesters_smooth_picture_is_banked_smooth(
    settings: Settings, database: Database, flagged: bool
) -> None:
    """A gradient the requester's device found smooth (its views say so) is banked as the
    server banks the same file: its whole views only, each marked smooth. Another gradient
    22 bits away, sent as a bare hash, then meets nothing; the same views without the flag
    (an older device) would have given a lead at 31 bits."""
    banked = gradient((320, 240), 0.5, 3.0, 20, 235)
    other = bank_signals_from_media(gradient((280, 260), 0.55, 3.1, 60, 200), LIMITS).pdq[0]
    server = bank_signals_from_media(banked, LIMITS)
    assert all(h.smooth for h in server.pdq)
    assert 16 < bin(int(server.pdq[0].hash, 16) ^ int(other.hash, 16)).count("1") <= 31
    views = [
        {"variant": h.variant, "quality": h.quality, "hash": h.hash}
        | ({"smooth": True} if flagged else {})
        for h in server.pdq
    ]
    runtime = PlatformRuntime(settings, database.engine)
    with database.session() as session:
        ensure_default_banks(session, settings)
        request = make_request(
            session,
            "RSC-TEST-0003",
            [{"url": "https://p.example/g", "pdq": [server.pdq[0].hash], "views": views}],
        )
        enforce_removal(session, settings, request, runtime=runtime)
        entries = session.scalars(
            select(BankEntry).where(
                BankEntry.request_id == request.id, BankEntry.signal_type.like("pdq%")
            )
        ).all()
        got = sorted((e.value, bool((e.provenance or {}).get("smooth"))) for e in entries)
        session.commit()
    assert got == sorted((h.hash, flagged) for h in server.pdq)
    runtime.sync_all()
    hits = runtime.matcher.match(Signals(pdq=(PdqHash(other.hash, other.quality),)))
    assert bool(hits) is not flagged


def test_the_copy_sweep_does_not_tie_videos_by_their_black_seconds(
    settings: Settings, database: Database
) -> None:
    rng = random.Random(21)
    runtime = PlatformRuntime(settings, database.engine)
    black = "0" * 64  # every black frame's hash, quality 0
    content = [random_pdq(rng) for _ in range(3)]

    # A clip with black seconds before and after its content; a re-encoded copy of it; a
    # black upload (audio over a black screen) and one of a black intro and other content.
    ends = [(black, 0), (black, 0)]
    items = {
        "clip": video_of([ends[0], *((h, 90) for h in content), *ends]),
        "copy": video_of([ends[0], *((flip(h, 10, rng), 90) for h in content), *ends]),
        "black": video_of([*ends, *ends]),
        "other": video_of([ends[0], (random_pdq(rng), 90), *ends]),
    }
    with database.session() as session:
        ensure_default_banks(session, settings)
    runtime.sync_all()
    _register(runtime, items)
    with database.session() as session:
        request = make_request(session, "RSC-TEST-0021", [{"url": "https://p.example/clip"}])
        result = enforce_removal(session, settings, request, runtime=runtime)
        assert {c.content_id for c in result.named} == {"clip"}
        assert {c.content_id for c in result.copies} == {"copy"}


def test_the_copy_sweep_leaves_out_an_end_card_many_videos_share(
    settings: Settings, database: Database
) -> None:
    rng = random.Random(23)
    runtime = PlatformRuntime(settings, database.engine)
    black = ("0" * 64, 0)
    card = [random_pdq(rng) for _ in range(2)]  # a platform's end card, on many uploads

    def good(hashes: list[str]) -> list[tuple[str, int]]:
        return [(flip(h, 6, rng), 90) for h in hashes]  # each upload re-encoded

    own = {f"v{i}": [random_pdq(rng) for _ in range(4)] for i in range(12)}
    items = {name: video_of(good(hashes + card)) for name, hashes in own.items()}
    items["only"] = video_of([black, black, *good(card)])  # black seconds, then the card
    # The video reported below, uploaded again ten times (ending on the card too).
    items |= {f"re{i}": video_of(good(own["v3"] + card)) for i in range(10)}
    with database.session() as session:
        ensure_default_banks(session, settings)
    runtime.sync_all()
    _register(runtime, items)
    with database.session() as session:
        # Before, banking the card-only upload swept every upload ending on the card, and
        # banking v3 swept the card-only upload (all of its good seconds are in v3).
        request = make_request(session, "RSC-TEST-0022", [{"url": "https://p.example/only"}])
        result = enforce_removal(session, settings, request, runtime=runtime)
        assert {c.content_id for c in result.copies} == set()
        request = make_request(session, "RSC-TEST-0023", [{"url": "https://p.example/v3"}])
        result = enforce_removal(session, settings, request, runtime=runtime)
        assert {c.content_id for c in result.named} == {"v3"}
        assert {c.content_id for c in result.copies} == {f"re{i}" for i in range(10)}
