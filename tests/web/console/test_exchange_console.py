"""The console's Exchange page: every staff role reads partners, StopNCII's state and the
verdicts partners sent (each view audited, no hash shown); only an admin disables or enables a
partner, with the CSRF token, audited under their name."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import select

from rescind.cases.intake import submit_request
from rescind.config import Settings
from rescind.exchange import stopncii
from rescind.exchange.feedback import record_feedback
from rescind.exchange.identity import Identity
from rescind.exchange.partners import add_partner, get_partner
from rescind.platform.apikeys import create_api_key
from rescind.platform.banks import ensure_default_banks, get_bank
from rescind.store import Database
from rescind.store.models import AuditEvent, BankEntry, StopNCIIHash
from rescind.store.statuses import StopNCIIHashStatus
from tests.cases.support import valid_input
from tests.web.console.conftest import token_of


def _exchange_state(database: Database, settings: Settings) -> tuple[str, str]:
    """A partner with a failed pull, StopNCII with one VideoTMK record, and a partner's
    `not_ncii` verdict on an entry of ours that came from a case. Returns (case, hash)."""
    allowed = settings.model_copy(update={"exchange_allow_private": True})
    value = secrets.token_hex(32)
    with database.session() as session:
        add_partner(
            session, allowed, "north", "http://127.0.0.1:8123", api_key="k",
            public_key=Identity(Ed25519PrivateKey.generate()).public_key, banks=["ncii"],
        )  # fmt: skip
        get_partner(session, "north").last_error = "bad signature: the page was not signed"
        state = stopncii.source_state(session, settings)
        state.last_error = "StopNCII answered HTTP 503"
        session.add(
            StopNCIIHash(
                digest=secrets.token_hex(32), signal_type="VideoTMK", value="x" * 100,
                supported=False, status=StopNCIIHashStatus.ACTIVE, cases={}, last_modified=1,
            )
        )  # fmt: skip
        case = submit_request(session, settings, valid_input())
        ensure_default_banks(session, settings)
        bank = get_bank(session, "ncii")
        entry = BankEntry(
            bank_id=bank.id, signal_type="pdq", value=value, quality=90, source="request",
            request_id=case.request.id,
        )  # fmt: skip
        session.add(entry)
        session.flush()
        key, _ = create_api_key(session, "partner-south", frozenset({"exchange"}))
        record_feedback(session, key.id, {bank.id: bank.name}, str(entry.id), "not_ncii", None)
        return case.case_number, value


def test_everyone_reads_the_exchange_and_only_admins_change_a_partner(
    signed_in: Callable[[str], TestClient], settings: Settings, database: Database
) -> None:
    number, value = _exchange_state(database, settings)
    rita = signed_in("rita")
    page = rita.get("/console/exchange")
    assert page.status_code == 200
    for shown in (
        "north", "127.0.0.1:8123", "bad signature: the page was not signed",
        "StopNCII answered HTTP 503", "not intimate imagery (not_ncii)", "partner-south",
        f'href="/console/cases/{number}"',
    ):  # fmt: skip
        assert shown in page.text, shown
    assert page.context["seen"].stopncii.unsupported == 1  # type: ignore[attr-defined]
    assert value not in page.text and "x" * 100 not in page.text
    assert "/console/exchange/partners/north" not in page.text  # a reviewer only reads
    refused = rita.post(
        "/console/exchange/partners/north",
        data={"csrf_token": token_of(page.text), "active": "0"},
    )
    assert refused.context["error"] == "not_allowed"  # type: ignore[attr-defined]
    assert signed_in("aude").get("/console/exchange").status_code == 200

    ada = signed_in("ada")
    page = ada.get("/console/exchange")
    assert "/console/exchange/partners/north" in page.text
    no_token = ada.post("/console/exchange/partners/north", data={"active": "0"})
    assert no_token.context["error"] == "not_allowed"  # type: ignore[attr-defined]
    token = token_of(page.text)
    unknown = ada.post(
        "/console/exchange/partners/nobody", data={"csrf_token": token, "active": "0"}
    )
    assert unknown.context["error"] == "no_partner"  # type: ignore[attr-defined]
    with database.session() as session:
        assert get_partner(session, "north").active
    done = ada.post("/console/exchange/partners/north", data={"csrf_token": token, "active": "0"})
    assert done.context["done"] == "disabled"  # type: ignore[attr-defined]
    assert "Partner disabled" in done.text
    with database.session() as session:
        assert not get_partner(session, "north").active
    again = ada.post("/console/exchange/partners/north", data={"csrf_token": token, "active": "1"})
    assert again.context["done"] == "enabled"  # type: ignore[attr-defined]
    with database.session() as session:
        assert get_partner(session, "north").active
        events = session.execute(select(AuditEvent.actor, AuditEvent.action)).all()
    views = [actor for actor, action in events if action == "exchange.view"]
    assert len(views) == 8  # every page shown, the ones after each POST included
    changes = [(actor, action) for actor, action in events if action.startswith("partner.")]
    assert changes[-2:] == [(f"user:{_id(database, 'ada')}", "partner.disabled"),
                            (f"user:{_id(database, 'ada')}", "partner.enabled")]  # fmt: skip


def _id(database: Database, username: str) -> int:
    from rescind.store.models import User

    with database.session() as session:
        return int(session.scalars(select(User.id).where(User.username == username)).one())
