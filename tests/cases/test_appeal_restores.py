"""An upheld uploader's appeal reverses the one removal appealed, not the case.

A case of two items: the first names an original (its copies were found by matching it), the
second another picture. Upholding the appeal of the original puts back the original and the
copies removed only because they matched it, and withdraws the entries made from it; a copy
that another case's entries still match stays removed; the second item, its entries and its
removals are untouched. Upholding the appeal of a copy puts back that copy alone. Each restore
is a signed `content.restore` webhook, recorded on the appeal and in the audit."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from rescind.cases.appeals import decide_appeal, file_removal_appeal
from rescind.cases.enforcement import RemovalEnforcer
from rescind.cases.progress import ItemState, item_progress
from rescind.cases.review import Reviewer
from rescind.cases.users import create_user
from rescind.config import Settings
from rescind.jobs import Worker
from rescind.platform.actions import REMOVE, RESTORE, mark_done
from rescind.platform.banks import ensure_default_banks
from rescind.platform.check import check_and_record
from rescind.platform.enforce import enforce_removal
from rescind.platform.runtime import PlatformRuntime
from rescind.platform.signals import PdqHash, Signals
from rescind.services import build_job_registry
from rescind.store import Database
from rescind.store.models import Action, AuditEvent, BankEntry, Content, Request
from rescind.store.statuses import BankEntryStatus, ContentState
from tests.platform.helpers import make_request
from tests.platform.receiver import Receiver

SECRET = "whsec-appeal-restore"


def _away(base: str, bits: list[int]) -> str:
    value = int(base, 16)
    for bit in bits:
        value ^= 1 << bit
    return f"{value:064x}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([SECRET])
    r.start()
    yield r
    r.stop()


@pytest.fixture
def remy(database: Database) -> Reviewer:
    with database.session() as session:
        return Reviewer.of_user(create_user(session, "remy", "correct horse battery", "reviewer"))


def _register(runtime: PlatformRuntime, content_id: str, pdq: str) -> None:
    check_and_record(
        runtime.writer,
        runtime.matcher,
        content_id,
        url=f"https://p.example/{content_id}",
        signals=Signals(pdq=(PdqHash(pdq, 90),)),
    )


def _removed_cases(settings: Settings, database: Database, *, confirm: bool = True) -> None:
    """R-MAIN removes `orig-a` (item 1, with its copies `copy-a` and `twin`) and `orig-b`
    (item 2, with `copy-b`); then R-TWIN removes `twin` in its own name. `copy-a` and `twin`
    are 20 bits from `orig-a` on disjoint bits: 40 from each other, beyond the threshold."""
    rng = random.Random(23)
    a, b = f"{rng.getrandbits(256):064x}", f"{rng.getrandbits(256):064x}"
    bits = rng.sample(range(256), 40)
    runtime = PlatformRuntime(settings, database.engine)
    with database.session() as session:
        ensure_default_banks(session, settings)
    runtime.sync_all()
    for content_id, pdq in (
        ("orig-a", a),
        ("copy-a", _away(a, bits[:20])),
        ("twin", _away(a, bits[20:])),
        ("orig-b", b),
        ("copy-b", _away(b, bits[:6])),
    ):
        _register(runtime, content_id, pdq)
    for number, items in (
        ("R-MAIN", [{"content_id": "orig-a"}, {"content_id": "orig-b"}]),
        ("R-TWIN", [{"content_id": "twin"}]),
    ):
        with database.session() as session:
            request = make_request(session, number, items)
            request.status = "removal_pending"
            enforce_removal(session, settings, request, runtime=runtime)
            for action in session.scalars(select(Action).where(Action.type == REMOVE)):
                if action.status == "pending" and confirm:
                    mark_done(session, action.id)


def _states(database: Database) -> dict[str, ContentState]:
    with database.session() as session:
        return dict(session.execute(select(Content.content_id, Content.state)).all())  # type: ignore[arg-type]


def _removal(database: Database, content_id: str, case: str = "R-MAIN") -> int:
    with database.session() as session:
        return session.scalars(
            select(Action.id)
            .join(Request, Request.id == Action.request_id)
            .where(
                Action.type == REMOVE,
                Action.content_id == content_id,
                Request.case_number == case,
            )
        ).one()


def _active_entries(database: Database) -> dict[tuple[str, str | None], int]:
    """Active entries per (case, content they were made from)."""
    counts: dict[tuple[str, str | None], int] = {}
    with database.session() as session:
        for entry, number in session.execute(
            select(BankEntry, Request.case_number)
            .join(Request, Request.id == BankEntry.request_id)
            .where(BankEntry.status == BankEntryStatus.ACTIVE)
        ):
            pk = session.get(Content, (entry.provenance or {}).get("content_pk"))
            key = (number, pk.content_id if pk else None)
            counts[key] = counts.get(key, 0) + 1
    return counts


def _uphold(settings: Settings, database: Database, remy: Reviewer, action_id: int) -> list[int]:
    with database.session() as session:
        appeal, _ = file_removal_appeal(
            session, settings, action_id, "That is me, I posted it myself.", "apikey:1"
        )
        enforce = RemovalEnforcer(PlatformRuntime(settings, database.engine))
        result = decide_appeal(
            session, settings, appeal, remy, True, "the uploader is the person", enforce=enforce
        )
        assert result.restoration is not None
        assert appeal.restore_action_ids == [a.id for a in result.restoration.actions]
        return list(appeal.restore_action_ids)


def test_an_upheld_appeal_of_the_original_puts_back_it_and_its_copies_only(
    settings: Settings, database: Database, remy: Reviewer, receiver: Receiver
) -> None:
    _removed_cases(settings, database)
    assert set(_states(database).values()) == {ContentState.REMOVED}
    before = _active_entries(database)
    assert before[("R-MAIN", "orig-a")] and before[("R-MAIN", "orig-b")]
    assert before[("R-TWIN", "twin")]

    restores = _uphold(settings, database, remy, _removal(database, "orig-a"))

    with database.session() as session:
        written = {
            session.get(Action, i).content_id  # type: ignore[union-attr]
            for i in restores
        }
    # The original and the copy found only through it; `twin` still matches R-TWIN's entries.
    assert written == {"orig-a", "copy-a"}
    assert _states(database) == {
        "orig-a": ContentState.LIVE,
        "copy-a": ContentState.LIVE,
        "twin": ContentState.REMOVED,
        "orig-b": ContentState.REMOVED,
        "copy-b": ContentState.REMOVED,
    }
    after = _active_entries(database)
    assert ("R-MAIN", "orig-a") not in after  # the entries made from the original: withdrawn
    assert after[("R-MAIN", "orig-b")] == before[("R-MAIN", "orig-b")]  # the other item's stand
    assert after[("R-TWIN", "twin")] == before[("R-TWIN", "twin")]
    with database.session() as session:
        case = session.scalars(select(Request).where(Request.case_number == "R-MAIN")).one()
        states = [p.state for p in item_progress(session, case)]
        # Item 1 still removed `twin`; item 2 is untouched.
        assert states == [ItemState.REMOVED, ItemState.REMOVED]
        assert case.events[-1].kind == "restored_on_appeal"
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "request.restore")
        ).one()
        assert event.detail is not None
        assert (event.detail["copies"], event.detail["kept"]) == (1, 1)
        assert event.detail["appealed_kept"] is False
        assert event.detail["entries_withdrawn"] == before[("R-MAIN", "orig-a")]
        upheld = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "appeal.uphold")
        ).one()
        assert upheld.detail is not None and upheld.detail["copies_restored"] == 1

    hooked = settings.model_copy(
        update={"webhook_url": receiver.url, "webhook_secret": SecretStr(SECRET)}
    )
    Worker(hooked, database, build_job_registry()).run_once()
    assert receiver.rejected == 0
    delivered = [d for d in receiver.deliveries if d["type"] == "content.restore"]
    assert sorted(d["content_id"] for d in delivered) == ["copy-a", "orig-a"]
    assert all(d["case_number"] == "R-MAIN" for d in delivered)


def test_an_upheld_appeal_of_a_copy_puts_back_that_copy_alone(
    settings: Settings, database: Database, remy: Reviewer
) -> None:
    _removed_cases(settings, database)
    before = _active_entries(database)

    restores = _uphold(settings, database, remy, _removal(database, "copy-b"))

    assert len(restores) == 1
    assert _states(database) == {
        "orig-a": ContentState.REMOVED,
        "copy-a": ContentState.REMOVED,
        "twin": ContentState.REMOVED,
        "orig-b": ContentState.REMOVED,
        "copy-b": ContentState.LIVE,
    }
    # A false match says nothing against the original: every entry stands.
    assert _active_entries(database) == before
    with database.session() as session:
        case = session.scalars(select(Request).where(Request.case_number == "R-MAIN")).one()
        assert [p.state for p in item_progress(session, case)] == [
            ItemState.REMOVED,
            ItemState.REMOVED,
        ]


def test_an_item_whose_every_removal_was_put_back_withdraws_its_requester_hashes(
    settings: Settings, database: Database, remy: Reviewer
) -> None:
    rng = random.Random(5)
    own = f"{rng.getrandbits(256):064x}"
    runtime = PlatformRuntime(settings, database.engine)
    with database.session() as session:
        ensure_default_banks(session, settings)
    runtime.sync_all()
    _register(runtime, "solo", own)
    with database.session() as session:
        request = make_request(
            session,
            "R-SOLO",
            [{"content_id": "solo", "pdq": [own]}, {"url": "https://x.example/2"}],
        )
        request.status = "removal_pending"
        enforce_removal(session, settings, request, runtime=runtime)
        for action in session.scalars(select(Action).where(Action.type == REMOVE)):
            mark_done(session, action.id)
    _uphold(settings, database, remy, _removal(database, "solo", "R-SOLO"))
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        first, second = case.items
        left = [
            (e.provenance or {}).get("request_item_id")
            for e in session.scalars(
                select(BankEntry).where(BankEntry.status == BankEntryStatus.ACTIVE)
            )
        ]
        assert first.id not in left  # the requester's hashes of the item went with it
        states = [p.state for p in item_progress(session, case)]
        assert states == [ItemState.RESTORED, ItemState.REMOVED]
        assert session.scalars(select(Action).where(Action.type == RESTORE)).one().item_id == (
            first.id
        )
        assert second.id is not None


def test_copies_whose_removal_is_still_pending_are_put_back_too(
    settings: Settings, database: Database, remy: Reviewer
) -> None:
    """Appealed before the platform confirmed anything: the copy's removal is on its way, so
    it gets its restore as well, and `twin` stays removed. R-TWIN's sweep, run while `orig-a`
    was not yet confirmed removed, removed `orig-a` in its own name too: that removal stands,
    so no restore is sent for `orig-a` (the audit says it was kept)."""
    _removed_cases(settings, database, confirm=False)
    restores = _uphold(settings, database, remy, _removal(database, "orig-a"))
    with database.session() as session:
        written = {session.get(Action, i).content_id for i in restores}  # type: ignore[union-attr]
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "request.restore")
        ).one()
    assert written == {"copy-a"}
    assert event.detail is not None and event.detail["appealed_kept"] is True
    assert _removal(database, "orig-a", "R-TWIN")  # the removal that stands
