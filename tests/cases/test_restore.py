"""A reviewer restores what a withdrawn case removed: one signed `content.restore` webhook per
content its removals named, the content live again, its hashes no longer blocking, audited
with the reason; refused without a reason or the role; a second restore writes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rescind.cases import requester
from rescind.cases.enforcement import withdraw_hashes
from rescind.cases.errors import InvalidDecision, NotAllowed
from rescind.cases.restore import restore_removed
from rescind.cases.review import Reviewer
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
from rescind.store.statuses import ContentState, Role
from tests.platform.helpers import make_request
from tests.platform.receiver import Receiver

SECRET = "whsec-restore-secret"
PDQ = "f" * 16 + "0" * 48
REVIEWER = Reviewer("user:7", Role.REVIEWER, 7)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([SECRET])
    r.start()
    yield r
    r.stop()


def _removed_case(settings: Settings, database: Database) -> str:
    """A case decided remove: a registered content (confirmed removed, its hashes banked) and
    a URL the registry never saw; then withdrawn by the person."""
    runtime = PlatformRuntime(settings, database.engine)
    with database.session() as session:
        ensure_default_banks(session, settings)
    runtime.sync_all()
    check_and_record(
        runtime.writer,
        runtime.matcher,
        "orig",
        url="https://p.example/orig",
        signals=Signals(pdq=(PdqHash(PDQ, 90),)),
    )
    with database.session() as session:
        request = make_request(
            session, "R-RESTORE", [{"content_id": "orig"}, {"url": "https://else.example/x"}]
        )
        request.status = "removal_pending"
        enforce_removal(session, settings, request, runtime=runtime)
        removal = session.scalars(select(Action).where(Action.content_id == "orig")).one()
        mark_done(session, removal.id)
        assert session.scalars(select(Content)).one().state == ContentState.REMOVED
    with database.session() as session:
        request = session.scalars(select(Request)).one()
        requester.withdraw(session, settings, request, on_withdraw=withdraw_hashes)
    return "R-RESTORE"


def _case(session: Session) -> Request:
    return session.scalars(select(Request).where(Request.case_number == "R-RESTORE")).one()


def _count(database: Database, model: type[Action] | type[AuditEvent]) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_withdraw_then_restore_delivers_one_signed_restore_per_removed_content(
    settings: Settings, database: Database, receiver: Receiver
) -> None:
    _removed_case(settings, database)
    with database.session() as session:
        result = restore_removed(session, _case(session), REVIEWER, "  withdrawn by the person ")
        assert len(result.actions) == 2
    with database.session() as session:
        restores = list(session.scalars(select(Action).where(Action.type == RESTORE)))
        targets = {(a.content_id, a.url) for a in restores}
        assert targets == {("orig", None), (None, "https://else.example/x")}
        assert session.scalars(select(Content)).one().state == ContentState.LIVE
        assert all(e.status == "withdrawn" for e in session.scalars(select(BankEntry)))
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "request.restore")
        ).one()
        assert (event.actor, event.subject_id) == ("user:7", "R-RESTORE")
        assert event.detail is not None
        assert event.detail["case_number"] == "R-RESTORE"
        assert event.detail["reason"] == "withdrawn by the person"
        assert _case(session).status == "withdrawn"
    hooked = settings.model_copy(
        update={"webhook_url": receiver.url, "webhook_secret": SecretStr(SECRET)}
    )
    Worker(hooked, database, build_job_registry()).run_once()
    assert receiver.rejected == 0  # every delivery carried a valid signature
    delivered = [d for d in receiver.deliveries if d["type"] == "content.restore"]
    assert {(d["content_id"], d["url"]) for d in delivered} == targets
    assert all(d["case_number"] == "R-RESTORE" for d in delivered)
    # Restoring again writes nothing and records nothing.
    actions, events = _count(database, Action), _count(database, AuditEvent)
    with database.session() as session:
        assert restore_removed(session, _case(session), REVIEWER, "again").nothing
    assert (_count(database, Action), _count(database, AuditEvent)) == (actions, events)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_restore_without_a_reason_is_refused_and_writes_nothing(
    settings: Settings, database: Database, reason: str | None
) -> None:
    _removed_case(settings, database)
    actions = _count(database, Action)
    with pytest.raises(InvalidDecision), database.session() as session:
        restore_removed(session, _case(session), REVIEWER, reason)
    assert _count(database, Action) == actions
    with database.session() as session:
        assert session.scalars(select(Content)).one().state == ContentState.REMOVED


def test_an_auditor_cannot_restore(settings: Settings, database: Database) -> None:
    _removed_case(settings, database)
    actions = _count(database, Action)
    auditor = Reviewer("user:9", Role.AUDITOR, 9)
    with pytest.raises(NotAllowed), database.session() as session:
        restore_removed(session, _case(session), auditor, "I should not")
    assert _count(database, Action) == actions


def test_a_restore_withdraws_the_hashes_of_a_case_removed_in_error(
    settings: Settings, database: Database
) -> None:
    """Not withdrawn, removed in error: the case's bank entries stop blocking re-uploads."""
    runtime = PlatformRuntime(settings, database.engine)
    with database.session() as session:
        ensure_default_banks(session, settings)
    runtime.sync_all()
    check_and_record(
        runtime.writer,
        runtime.matcher,
        "orig",
        url="https://p.example/orig",
        signals=Signals(pdq=(PdqHash(PDQ, 90),)),
    )
    with database.session() as session:
        request = make_request(session, "R-RESTORE", [{"content_id": "orig"}])
        request.status = "removal_pending"
        enforce_removal(session, settings, request, runtime=runtime)
        assert session.scalars(select(BankEntry)).one().status == "active"
        result = restore_removed(session, request, REVIEWER, "removed in error")
        assert result.entries == 1 and [a.type for a in result.actions] == [RESTORE]
        assert session.scalars(select(BankEntry)).one().status == "withdrawn"
        # The removal stays on record beside its restore.
        types = session.scalars(select(Action.type).order_by(Action.id))
        assert list(types) == [REMOVE, RESTORE]
