"""The case page offers a reviewer to restore what a case removed, with a required reason; an
auditor sees no form and is refused; the restore action is listed beside the removal."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rescind.cases.intake import submit_request
from rescind.cases.validation import ItemInput
from rescind.config import Settings
from rescind.store import Database
from rescind.store.models import Action
from tests.cases.support import valid_input
from tests.web.console.conftest import token_of

URL = "https://platform.example/never-seen"


def _restores(database: Database) -> int:
    with database.session() as session:
        query = select(func.count()).select_from(Action).where(Action.type == "content.restore")
        return session.scalar(query) or 0


def test_restore_from_the_case_page(
    signed_in: Callable[[str], TestClient], settings: Settings, database: Database
) -> None:
    with database.session() as session:
        number = submit_request(
            session, settings, valid_input(items=[ItemInput(url=URL)])
        ).case_number
    rita = signed_in("rita")
    page = rita.get(f"/console/cases/{number}")
    assert page.context["can_restore"] is False  # type: ignore[attr-defined]
    assert 'id="restore-form"' not in page.text
    decided = rita.post(
        f"/console/cases/{number}/decision",
        data={"csrf_token": token_of(page.text), "outcome": "remove"},
    )
    assert decided.status_code == 200, decided.text
    page = rita.get(f"/console/cases/{number}")
    assert page.template.name == "console/case.html"  # type: ignore[attr-defined]
    assert page.context["can_restore"] is True  # type: ignore[attr-defined]
    assert 'id="restore-form"' in page.text
    path = f"/console/cases/{number}/restore"
    token = token_of(page.text)

    aude = signed_in("aude")
    seen = aude.get(f"/console/cases/{number}")
    assert 'id="restore-form"' not in seen.text
    refused = aude.post(path, data={"csrf_token": token_of(seen.text), "reason": "no"})
    assert refused.context["error"] == "not_allowed"  # type: ignore[attr-defined]

    empty = rita.post(path, data={"csrf_token": token, "reason": "  "})
    assert empty.context["error"] == "invalid"  # type: ignore[attr-defined]
    assert _restores(database) == 0

    done = rita.post(path, data={"csrf_token": token, "reason": "removed in error"})
    assert done.context["done"] == "restored"  # type: ignore[attr-defined]
    actions = done.context["enforcement"].actions  # type: ignore[attr-defined]
    assert [(a.type, a.url) for a in actions] == [("content.remove", URL), ("content.restore", URL)]
    rita.post(path, data={"csrf_token": token, "reason": "again"})
    assert _restores(database) == 1
