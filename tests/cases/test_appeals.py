"""The appeal service's rules beside what the console and API tests show: whoever confirmed a
lead of the case took part in its decision; a removal no case asked for is restored alone;
nobody decides an appeal twice, and an API key never decides one."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from rescind.cases.appeals import (
    decide_appeal,
    file_item_appeal,
    file_rejection_appeal,
    file_removal_appeal,
    original_deciders,
)
from rescind.cases.enforcement import RemovalEnforcer
from rescind.cases.errors import CaseClosed, NotAllowed
from rescind.cases.intake import submit_request
from rescind.cases.review import ItemChoice, Reviewer, decide, resolve_item
from rescind.cases.users import create_user
from rescind.cases.validation import ItemInput
from rescind.config import Settings
from rescind.platform.actions import REMOVE, RESTORE, create_action, mark_done
from rescind.platform.banks import NCII_BANK, ensure_default_banks, get_bank
from rescind.store import Database
from rescind.store.models import Action, Appeal, BankEntry, Content, Lead, Request, RequestItem
from rescind.store.statuses import ContentState, ItemStatus, Role
from tests.cases.support import SmtpServer, body_of, run_jobs, valid_input
from tests.platform.helpers import make_request


@pytest.fixture
def remy(database: Database) -> Reviewer:
    with database.session() as session:
        return Reviewer.of_user(create_user(session, "remy", "correct horse battery", "reviewer"))


def test_a_removal_no_case_asked_for_is_restored_alone(
    settings: Settings, database: Database, remy: Reviewer, enforce: RemovalEnforcer
) -> None:
    with database.session() as session:
        session.add_all([Content(content_id="blocked-1"), Content(content_id="blocked-2")])
        session.flush()
        first, _ = create_action(session, REMOVE, "blocked-1", request_id=None)
        second, _ = create_action(session, REMOVE, "blocked-2", request_id=None)
        mark_done(session, first.id)
        mark_done(session, second.id)
        appeal, created = file_removal_appeal(
            session, settings, first.id, "my holiday photo", "apikey:1"
        )
        assert created and original_deciders(session, appeal) == set()
        with pytest.raises(NotAllowed):  # an API key (no user) never decides
            decide_appeal(
                session,
                settings,
                appeal,
                Reviewer("apikey:1", Role.REVIEWER),
                True,
                "x",
                enforce=enforce,
            )
        result = decide_appeal(
            session, settings, appeal, remy, True, "a different picture", enforce=enforce
        )
        assert result.restoration is not None
        assert [(a.type, a.content_id) for a in result.restoration.actions] == [
            (RESTORE, "blocked-1")
        ]
        with pytest.raises(CaseClosed):
            decide_appeal(session, settings, appeal, remy, False, "again", enforce=enforce)
    with database.session() as session:
        states = dict(session.execute(select(Content.content_id, Content.state)).all())
        assert states == {"blocked-1": ContentState.LIVE, "blocked-2": ContentState.REMOVED}
        assert session.scalars(select(Appeal.status)).one() == "upheld"


def test_whoever_confirmed_a_lead_of_the_case_cannot_decide_its_appeal(
    settings: Settings, database: Database, remy: Reviewer, enforce: RemovalEnforcer
) -> None:
    with database.session() as session:
        request = make_request(session, "R-APPEAL-LEAD", [{"url": "https://p.example/1"}])
        content = Content(content_id="led-1")
        session.add(content)
        session.flush()
        action, _ = create_action(session, REMOVE, "led-1", request_id=request.id)
        entry_id = _any_entry(session, settings)
        session.add(
            Lead(
                request_id=request.id,
                item_id=request.items[0].id,
                content_pk=content.id,
                bank_entry_id=entry_id,
                distance=3,
                status="confirmed",
                decided_by=remy.actor,
            )
        )
        session.flush()
        appeal, _ = file_removal_appeal(session, settings, action.id, "not me", "apikey:1")
        assert original_deciders(session, appeal) == {remy.user_id}
        with pytest.raises(NotAllowed):
            decide_appeal(session, settings, appeal, remy, True, "mine", enforce=enforce)
        assert session.scalars(select(Action).where(Action.type == RESTORE)).first() is None
        assert session.get(Request, request.id) is not None


def _any_entry(session: Session, settings: Settings) -> int:
    ensure_default_banks(session, settings)
    entry = BankEntry(
        bank_id=get_bank(session, NCII_BANK).id,
        signal_type="md5",
        value="0" * 32,
        source="reviewer",
    )
    session.add(entry)
    session.flush()
    return entry.id


def test_the_requester_is_told_the_reasoned_decision_in_their_language(
    settings: Settings,
    database: Database,
    remy: Reviewer,
    smtp: SmtpServer,
    enforce: RemovalEnforcer,
) -> None:
    settings = smtp.settings(settings)
    with database.session() as session:
        rita = Reviewer.of_user(create_user(session, "rita", "correct horse battery", "reviewer"))
        filed = submit_request(session, settings, valid_input(language="fr"))
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        decide(
            session,
            settings,
            case,
            rita,
            "reject",
            reason_code="not_intimate",
            enforce=enforce,
        )
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        appeal = file_rejection_appeal(session, settings, case, "C'est bien moi.")
        with pytest.raises(NotAllowed):
            decide_appeal(session, settings, appeal, rita, False, "no", enforce=enforce)
        decide_appeal(
            session, settings, appeal, remy, False, "La photo ne montre personne.", enforce=enforce
        )
    run_jobs(settings, database)
    (message,) = [m for m in smtp.messages if "la décision est maintenue" in str(m["Subject"])]
    assert filed.case_number in str(message["Subject"])
    assert "La photo ne montre personne." in body_of(message)
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert case.status == "rejected"
        assert [e.kind for e in case.events][-2:] == ["appeal_filed", "appeal_dismissed"]


def test_an_item_appeal_is_decided_by_someone_else_and_told_in_the_requesters_language(
    settings: Settings,
    database: Database,
    remy: Reviewer,
    smtp: SmtpServer,
    enforce: RemovalEnforcer,
) -> None:
    """Rita rejects the second item; Remy resolves the third one later (an item added since):
    neither may decide the appeal of the second. Vera dismisses it; the requester is told in
    French, with her reason."""
    settings = smtp.settings(settings)
    with database.session() as session:
        rita = Reviewer.of_user(create_user(session, "rita", "correct horse battery", "reviewer"))
        vera = Reviewer.of_user(create_user(session, "vera", "correct horse battery", "reviewer"))
        two = [ItemInput(url=f"https://platform.example/p/{n}") for n in (1, 2)]
        filed = submit_request(session, settings, valid_input(language="fr", items=two))
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        second = case.items[1].id
        decide(
            session,
            settings,
            case,
            rita,
            "remove",
            items={second: ItemChoice(ItemStatus.REJECTED)},
            enforce=enforce,
        )
        case.items.append(RequestItem(url="https://platform.example/p/3", status="pending"))
        session.flush()
        resolve_item(
            session,
            settings,
            case,
            remy,
            case.items[2].id,
            ItemChoice(ItemStatus.REJECTED, "a landscape"),
            enforce=enforce,
        )
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        appeal = file_item_appeal(session, settings, case, 2, "C'est aussi moi.")
        assert original_deciders(session, appeal) == {rita.user_id, remy.user_id}
        for someone in (rita, remy):
            with pytest.raises(NotAllowed):
                decide_appeal(session, settings, appeal, someone, True, "x", enforce=enforce)
        decide_appeal(session, settings, appeal, vera, False, "Un paysage.", enforce=enforce)
    run_jobs(settings, database)
    (message,) = [m for m in smtp.messages if "élément" in str(m["Subject"])]
    assert filed.case_number in str(message["Subject"])
    assert "Un paysage." in body_of(message)
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert [i.status for i in case.items] == ["remove", "rejected", "rejected"]
        assert [e.kind for e in case.events][-2:] == ["item_appeal_filed", "item_appeal_dismissed"]
