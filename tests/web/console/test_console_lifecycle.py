"""The console shows, per item, what a removal will do; leads are confirmed or dismissed there;
actions show their delivery and the platform's outcome."""

from __future__ import annotations

import random
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from rescind.cases.intake import submit_request
from rescind.cases.validation import ItemInput
from rescind.config import Settings
from rescind.platform.actions import mark_done
from rescind.platform.check import check_and_record
from rescind.platform.signals import PdqHash, Signals
from rescind.store import Database
from rescind.store.models import Action, Lead
from rescind.web.deps import services_of
from tests.cases.support import valid_input
from tests.platform.helpers import random_pdq
from tests.web.console.conftest import token_of


def test_plan_per_item_decisions_leads_and_outcomes(
    signed_in: Callable[[str], TestClient], settings: Settings, database: Database
) -> None:
    rita = signed_in("rita")
    runtime = services_of(rita.app).runtime  # type: ignore[arg-type]
    picture, stray = random_pdq(random.Random(3)), random_pdq(random.Random(4))
    runtime.sync_all()
    check_and_record(
        runtime.writer,
        runtime.matcher,
        "upload-1",
        url=None,
        signals=Signals((PdqHash(picture, 90),)),
    )
    items = [
        ItemInput(url="https://platform.example/never-seen"),
        ItemInput(pdq=[picture]),
        ItemInput(pdq=[stray]),
    ]
    with database.session() as session:
        number = submit_request(session, settings, valid_input(items=items)).case_number
    page = rita.get(f"/console/cases/{number}")
    plans = page.context["plans"]  # type: ignore[attr-defined]
    ids = [p.item.id for p in page.context["progress"]]  # type: ignore[attr-defined]
    assert [len(plans[i].targets) for i in ids] == [1, 0, 0]
    assert [len(plans[i].leads) for i in ids] == [0, 1, 0] and plans[ids[2]].nothing
    assert 'id="no-endpoint"' in page.text and "leads nowhere" in page.text
    path = f"/console/cases/{number}/decision"
    token = token_of(page.text)
    refused = rita.post(path, data={"csrf_token": token, "outcome": "remove"})
    assert "item 3 leads to no content" in refused.text
    decided = rita.post(
        path,
        data={
            "csrf_token": token,
            "outcome": "remove",
            f"item-{ids[2]}": "handled_outside",
            f"item-{ids[2]}-note": "reported to StopNCII",
        },
    )
    assert decided.context["case"].status == "removal_pending"  # type: ignore[attr-defined]
    assert 'id="leads"' in decided.text and "Confirm: it is the reported item" in decided.text
    with database.session() as session:
        lead = session.scalars(select(Lead)).one()
        (url_action,) = session.scalars(select(Action)).all()
        assert (url_action.content_id, url_action.url) == (
            None,
            "https://platform.example/never-seen",
        )
    confirmed = rita.post(
        f"/console/cases/{number}/leads/{lead.id}",
        data={"csrf_token": token, "decision": "confirm"},
    )
    assert confirmed.status_code == 200 and confirmed.context["done"] == "lead"  # type: ignore[attr-defined]
    with database.session() as session:
        actions = session.scalars(select(Action).order_by(Action.id)).all()
        assert [a.content_id for a in actions] == [None, "upload-1"]
        mark_done(session, actions[0].id)
        mark_done(session, actions[1].id, note="gone")
    page = rita.get(f"/console/cases/{number}")
    assert page.context["case"].status == "removed"  # type: ignore[attr-defined]
    assert 'id="removed-at"' in page.text and "confirmed" in page.text
