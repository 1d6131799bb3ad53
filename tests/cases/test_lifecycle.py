"""Issue 18: every item leads somewhere, a stranger's hash never removes anything by itself,
and a case is "removed" only once the platform confirmed every removal."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from rescind.cases import review
from rescind.cases.enforcement import RemovalEnforcer
from rescind.cases.errors import InvalidDecision
from rescind.cases.intake import submit_request
from rescind.cases.progress import ItemState, item_progress
from rescind.cases.requester import add_information
from rescind.cases.users import create_user
from rescind.cases.validation import ItemInput
from rescind.config import Settings
from rescind.platform.actions import mark_done, mark_failed
from rescind.platform.banks import ensure_default_banks
from rescind.platform.check import check_and_record
from rescind.platform.signals import PdqHash, Signals
from rescind.platform.upload_leads import leads_from_uploads
from rescind.store import Database
from rescind.store.columns import utcnow
from rescind.store.models import Action, Content, Job, Lead, Request, User
from rescind.store.statuses import ActionOutcome
from tests.cases.support import valid_input
from tests.platform.helpers import flip, random_pdq


def _reviewer(database: Database) -> review.Reviewer:
    with database.session() as session:
        user = session.scalar(select(User).where(User.username == "rita"))
        if user is None:
            user = create_user(session, "rita", "correct horse battery", "reviewer")
        return review.Reviewer.of_user(user)


def _file(settings: Settings, database: Database, items: list[ItemInput]) -> int:
    with database.session() as session:
        return submit_request(session, settings, valid_input(items=items)).request.id


def _register(enforce: RemovalEnforcer, content_id: str, signals: Signals) -> str:
    runtime = enforce.runtime
    return check_and_record(
        runtime.writer,
        runtime.matcher,
        content_id,
        url=f"https://platform.example/u/{content_id}",
        signals=signals,
    ).verdict


def _decide(
    settings: Settings,
    database: Database,
    enforce: RemovalEnforcer,
    case_id: int,
    items: dict[int, review.ItemChoice] | None = None,
) -> None:
    reviewer = _reviewer(database)
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        review.decide(session, settings, case, reviewer, "remove", enforce=enforce, items=items)


def _actions(database: Database, case_id: int) -> list[Action]:
    with database.session() as session:
        return list(
            session.scalars(select(Action).where(Action.request_id == case_id).order_by(Action.id))
        )


def _status(database: Database, case_id: int) -> str:
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        return case.status


@pytest.fixture
def ready(settings: Settings, database: Database, enforce: RemovalEnforcer) -> RemovalEnforcer:
    with database.session() as session:
        ensure_default_banks(session, settings)
    enforce.runtime.sync_all()
    return enforce


def test_a_smuggled_hash_removes_nothing_and_blocks_nothing(
    settings: Settings, database: Database, ready: RemovalEnforcer
) -> None:
    # Someone else's photo, uploaded three times by innocent people.
    rng = random.Random(18)
    photo = random_pdq(rng)
    for n in range(3):
        signals = Signals(pdq=(PdqHash(flip(photo, n * 3, rng), 90),))
        assert _register(ready, f"innocent-{n}", signals) == "allow"
    # The attack: an unrelated URL with the photo's hash hidden beside it.
    case_id = _file(
        settings,
        database,
        [ItemInput(url="https://elsewhere.example/unrelated", pdq=[photo])],
    )
    _decide(settings, database, ready, case_id)
    actions = _actions(database, case_id)
    # The only action is for the URL the request named, which the platform must resolve.
    assert [(a.content_id, a.url) for a in actions] == [
        (None, "https://elsewhere.example/unrelated")
    ]
    with database.session() as session:
        leads = session.scalars(select(Lead).where(Lead.request_id == case_id)).all()
        assert len(leads) == 3 and {lead.status for lead in leads} == {"unconfirmed"}
    # A new upload of the photo is held for review, never blocked, on the stranger's word.
    ready.runtime.sync_all()
    again = _register(ready, "innocent-new", Signals(pdq=(PdqHash(photo, 90),)))
    assert again == "review"
    assert _status(database, case_id) == "removal_pending"


def test_a_url_the_registry_never_saw_is_one_action_carrying_the_url(
    settings: Settings, database: Database, ready: RemovalEnforcer
) -> None:
    case_id = _file(settings, database, [ItemInput(url="https://platform.example/p/unknown")])
    _decide(settings, database, ready, case_id)
    (action,) = _actions(database, case_id)
    assert (action.content_id, action.url, action.status) == (
        None,
        "https://platform.example/p/unknown",
        "pending",
    )
    assert action.item_id is not None


def test_removed_only_once_every_action_is_confirmed(
    settings: Settings, database: Database, ready: RemovalEnforcer
) -> None:
    case_id = _file(
        settings,
        database,
        [ItemInput(url="https://platform.example/p/1"), ItemInput(content_id="post-2")],
    )
    _decide(settings, database, ready, case_id)
    first, second = _actions(database, case_id)
    assert _status(database, case_id) == "removal_pending"
    with database.session() as session:
        mark_done(session, first.id, ActionOutcome.REMOVED)
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None and case.status == "removal_pending" and case.removed_at is None
        states = [p.state for p in item_progress(session, case)]
        assert states == [ItemState.REMOVED, ItemState.REMOVAL_PENDING]
    with database.session() as session:
        mark_done(session, second.id, ActionOutcome.NOT_FOUND, "gone before we looked")
    with database.session() as session:
        case = session.get(Request, case_id)
        last = session.get(Action, second.id)
        assert case is not None and last is not None
        assert case.status == "removed" and case.removed_at == last.confirmed_at
        assert [p.state for p in item_progress(session, case)] == [ItemState.REMOVED] * 2
        assert [e.kind for e in case.events][-1] == "removed"
        # The requester is told once the platform confirmed, not when the reviewer decided.
        emails = session.scalars(select(Job).where(Job.kind == "email.requester")).all()
        assert [j.payload["kind"] for j in emails] == ["received", "remove", "removed"]


def test_an_undeliverable_removal_goes_back_to_a_reviewer(
    settings: Settings, database: Database, ready: RemovalEnforcer
) -> None:
    case_id = _file(settings, database, [ItemInput(content_id="post-5")])
    _decide(settings, database, ready, case_id)
    (action,) = _actions(database, case_id)
    with database.session() as session:
        stored = session.get(Action, action.id)
        assert stored is not None
        mark_failed(session, stored)
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None and case.status == "removal_pending" and case.needs_review


def test_a_refused_removal_goes_back_to_a_reviewer(
    settings: Settings, database: Database, ready: RemovalEnforcer
) -> None:
    case_id = _file(settings, database, [ItemInput(content_id="post-9")])
    _decide(settings, database, ready, case_id)
    (action,) = _actions(database, case_id)
    with database.session() as session:
        mark_done(session, action.id, ActionOutcome.REFUSED, "our policy allows it")
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        assert case.status == "removal_pending" and case.needs_review
        (progress,) = item_progress(session, case)
        assert progress.state == ItemState.CAME_BACK
        item_id = progress.item.id
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        review.resolve_item(
            session,
            settings,
            case,
            _reviewer(database),
            item_id,
            review.ItemChoice(review.ItemStatus.HANDLED_OUTSIDE, "escalated to legal"),
            enforce=ready,
        )
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None and not case.needs_review
        (progress,) = item_progress(session, case)
        assert progress.state == ItemState.HANDLED_OUTSIDE


def test_an_item_leading_nowhere_cannot_be_removed(
    settings: Settings, database: Database, ready: RemovalEnforcer
) -> None:
    rng = random.Random(7)
    case_id = _file(
        settings,
        database,
        [ItemInput(pdq=[random_pdq(rng)]), ItemInput(url="https://platform.example/p/3")],
    )
    with pytest.raises(InvalidDecision, match="item 1 leads to no content"):
        _decide(settings, database, ready, case_id)
    assert _status(database, case_id) == "received"
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        first = case.items[0].id
    choice = review.ItemChoice(review.ItemStatus.HANDLED_OUTSIDE, "reported to StopNCII")
    _decide(settings, database, ready, case_id, {first: choice})
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        assert [i.status for i in case.items] == ["handled_outside", "remove"]
        assert case.status == "removal_pending"


def test_a_confirmed_lead_is_actioned_and_its_hashes_block(
    settings: Settings, database: Database, ready: RemovalEnforcer
) -> None:
    rng = random.Random(9)
    picture = random_pdq(rng)
    _register(ready, "upload-a", Signals(pdq=(PdqHash(picture, 90),)))
    _register(ready, "upload-b", Signals(pdq=(PdqHash(flip(picture, 4, rng), 90),)))
    case_id = _file(settings, database, [ItemInput(pdq=[picture])])
    _decide(settings, database, ready, case_id)
    assert _actions(database, case_id) == []
    reviewer = _reviewer(database)
    with database.session() as session:
        leads = session.scalars(select(Lead).order_by(Lead.id)).all()
        assert len(leads) == 2
        case = session.get(Request, case_id)
        assert case is not None
        review.decide_lead(
            session, settings, case, reviewer, leads[0].id, confirm=True, enforce=ready
        )
        review.decide_lead(
            session, settings, case, reviewer, leads[1].id, confirm=False, enforce=ready
        )
    actions = _actions(database, case_id)
    # The confirmed upload is actioned; its own registered hash sweeps up the other copy.
    assert sorted(a.content_id or "" for a in actions) == ["upload-a", "upload-b"]
    ready.runtime.sync_all()
    assert _register(ready, "upload-c", Signals(pdq=(PdqHash(picture, 90),))) == "block"
    for action in actions:
        with database.session() as session:
            mark_done(session, action.id)
    assert _status(database, case_id) == "removed"


def test_an_item_whose_leads_are_all_dismissed_is_not_removed(
    settings: Settings, database: Database, ready: RemovalEnforcer
) -> None:
    rng = random.Random(11)
    picture = random_pdq(rng)
    _register(ready, "look-alike", Signals(pdq=(PdqHash(picture, 90),)))
    case_id = _file(settings, database, [ItemInput(pdq=[picture])])
    _decide(settings, database, ready, case_id)
    reviewer = _reviewer(database)
    with database.session() as session:
        case = session.get(Request, case_id)
        lead = session.scalars(select(Lead)).one()
        assert case is not None
        review.decide_lead(session, settings, case, reviewer, lead.id, confirm=False, enforce=ready)
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        # Nothing was removed: not "removed", and back to a reviewer.
        assert case.status == "removal_pending" and case.needs_review
        (progress,) = item_progress(session, case)
        assert progress.state == ItemState.NOT_FOUND
        review.resolve_item(
            session,
            settings,
            case,
            reviewer,
            progress.item.id,
            review.ItemChoice(review.ItemStatus.HANDLED_OUTSIDE, "not on our platform"),
            enforce=ready,
        )
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None and case.status == "removed" and not case.needs_review
        # No platform confirmed anything: the history and the emails do not say "removed".
        assert "removed" not in [e.kind for e in case.events]
        emails = session.scalars(select(Job).where(Job.kind == "email.requester")).all()
        assert "removed" not in [j.payload["kind"] for j in emails]


def test_a_link_added_during_the_removal_becomes_an_item_to_decide(
    settings: Settings, database: Database, ready: RemovalEnforcer
) -> None:
    case_id = _file(settings, database, [ItemInput(content_id="post-1")])
    _decide(settings, database, ready, case_id)
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None
        add_information(session, case, "It is also at https://mirror.example/x/2 (a copy).")
    with database.session() as session:
        case = session.get(Request, case_id)
        assert case is not None and case.needs_review and case.status == "removal_pending"
        new = case.items[-1]
        assert (new.url, new.status) == ("https://mirror.example/x/2", "pending")
        review.resolve_item(
            session,
            settings,
            case,
            _reviewer(database),
            new.id,
            review.ItemChoice(review.ItemStatus.REMOVE),
            enforce=ready,
        )
    actions = _actions(database, case_id)
    assert [(a.content_id, a.url) for a in actions] == [
        ("post-1", None),
        (None, "https://mirror.example/x/2"),
    ]
    for action in actions:
        with database.session() as session:
            mark_done(session, action.id)
    assert _status(database, case_id) == "removed"


def test_an_upload_matching_a_requester_hash_becomes_a_lead(
    settings: Settings, database: Database, ready: RemovalEnforcer
) -> None:
    rng = random.Random(12)
    picture = random_pdq(rng)
    _register(ready, "first-upload", Signals(pdq=(PdqHash(picture, 90),)))
    case_id = _file(settings, database, [ItemInput(pdq=[picture])])
    _decide(settings, database, ready, case_id)
    ready.runtime.sync_all()
    # A new upload of the picture: held for review, and a lead for the case's reviewer.
    assert _register(ready, "second-upload", Signals(pdq=(PdqHash(picture, 90),))) == "review"
    with database.session() as session:
        leads_from_uploads(session, settings, utcnow())
        leads_from_uploads(session, settings, utcnow())  # idempotent
    with database.session() as session:
        contents = session.scalars(
            select(Content.content_id)
            .join(Lead, Lead.content_pk == Content.id)
            .where(Lead.request_id == case_id)
            .order_by(Lead.id)
        ).all()
        assert contents == ["first-upload", "second-upload"]
        assert session.scalars(select(Action)).all() == []
