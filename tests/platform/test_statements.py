"""The statement of reasons (DSA Art. 17) travels with every removal and restore: in the
signed webhook, in `GET /v1/actions` and in the case read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from rescind.config import Settings
from rescind.jobs import Worker
from rescind.platform.actions import REMOVE, RESTORE, create_action
from rescind.platform.statements import statements_for
from rescind.services import build_job_registry
from rescind.store import Database
from rescind.store.columns import utcnow
from rescind.store.models import Action, Decision
from tests.platform.helpers import make_request
from tests.platform.receiver import Receiver

SECRET = "s3cret-for-statements"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([SECRET])
    r.start()
    yield r
    r.stop()


def _case(database: Database, *, automated: bool = False) -> dict[str, int]:
    """A case naming `named-1`, decided "remove", with a removal of it and of a copy."""
    with database.session() as session:
        request = make_request(session, "RSC-SOR-1", [{"content_id": "named-1"}])
        session.add(
            Decision(request_id=request.id, outcome="remove", automated=automated, at=utcnow())
        )
        item = request.items[0].id
        named, _ = create_action(session, REMOVE, "named-1", request_id=request.id, item_id=item)
        copy, _ = create_action(session, REMOVE, "copy-9", request_id=request.id, item_id=item)
        back, _ = create_action(session, RESTORE, "named-1", request_id=request.id, item_id=item)
        return {"named": named.id, "copy": copy.id, "restore": back.id}


def test_webhook_carries_the_statement_of_reasons(
    settings: Settings, database: Database, receiver: Receiver
) -> None:
    ids = _case(database)
    hooked = settings.model_copy(
        update={
            "webhook_url": receiver.url,
            "webhook_secret": SecretStr(SECRET),
            "terms_url": "https://platform.example/terms",
        }
    )
    Worker(hooked, database, build_job_registry()).run_once()
    by_id = {d["id"]: d["statement_of_reasons"] for d in receiver.deliveries}
    assert set(by_id) == set(ids.values())

    named = by_id[ids["named"]]
    assert named["restriction"] == "removal"
    assert named["source"] == "notice"
    assert named["automated_detection"] is False
    assert named["automated_decision"] == "not_automated"
    assert "TAKE IT DOWN Act" in named["legal_ground"]
    assert named["terms_url"] == "https://platform.example/terms"
    assert {r["kind"] for r in named["redress"]} == {"internal_complaint", "out_of_court", "court"}
    assert "RSC-SOR-1" in named["facts"] and "named in" in named["facts"]

    copy = by_id[ids["copy"]]
    assert (copy["source"], copy["automated_detection"], copy["automated_decision"]) == (
        "own_initiative",
        True,
        "partially",
    )
    assert "fingerprint" in copy["facts"]

    restore = by_id[ids["restore"]]
    assert restore["restriction"] == "restore"
    assert restore["automated_decision"] == "not_automated"


def test_an_automated_decision_says_so(settings: Settings, database: Database) -> None:
    ids = _case(database, automated=True)
    with database.session() as session:
        actions = [session.get(Action, i) for i in (ids["named"], ids["copy"])]
        found = statements_for(session, settings, [a for a in actions if a is not None])
    assert found[ids["named"]].automated_decision == "fully"
    assert found[ids["copy"]].automated_decision == "fully"
    assert "an automated rule" in found[ids["named"]].facts
