"""The status page tells each item's state truthfully: "removal pending" until the platform
confirmed, then "removed"; links added later become items of the case."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from rescind.cases import review
from rescind.cases.users import create_user
from rescind.platform.actions import mark_done
from rescind.store import Database
from rescind.store.models import Action, Request
from rescind.store.statuses import ActionOutcome
from rescind.web.deps import services_of
from tests.web.public.support import csrf_of, file_request


def _page(client: TestClient, number: str, secret: str) -> str:
    token = csrf_of(client.get("/status").text)
    page = client.post(
        "/status", data={"csrf_token": token, "case_number": number, "secret": secret}
    )
    assert page.status_code == 200
    return page.text


def _states(html: str) -> list[str]:
    return re.findall(r'<li data-state="([a-z_]+)"', html)


def _decide_remove(client: TestClient, database: Database) -> None:
    services = services_of(client.app)  # type: ignore[arg-type]
    with database.session() as session:
        user = create_user(session, "rita", "correct horse battery", "reviewer")
        case = session.scalars(select(Request)).one()
        review.decide(
            session,
            services.settings,
            case,
            review.Reviewer.of_user(user),
            "remove",
            enforce=services.enforce,
        )


def test_removal_pending_until_the_platform_confirms_then_removed(
    client: TestClient, database: Database
) -> None:
    number, secret = file_request(
        client, **{"items[1].url": "https://platform.example/p/456", "items[1].content_id": ""}
    )
    _decide_remove(client, database)
    html = _page(client, number, secret)
    assert 'data-status="removal_pending"' in html
    assert "Removal pending: waiting for the platform to confirm" in html
    assert _states(html) == ["removal_pending", "removal_pending"]
    assert "Removed: the platform confirmed it" not in html
    with database.session() as session:
        first, second = session.scalars(select(Action).order_by(Action.id)).all()
        mark_done(session, first.id)
    html = _page(client, number, secret)
    assert 'data-status="removal_pending"' in html
    assert _states(html) == ["removed", "removal_pending"]
    with database.session() as session:
        mark_done(session, second.id, ActionOutcome.NOT_FOUND)
    html = _page(client, number, secret)
    assert 'data-status="removed"' in html and _states(html) == ["removed", "removed"]
    assert "The platform confirmed the removal." in html


def test_the_item_states_are_in_the_requesters_language(
    client: TestClient, database: Database
) -> None:
    client.cookies.set("rescind_lang", "fr")
    number, secret = file_request(client)
    _decide_remove(client, database)
    html = _page(client, number, secret)
    assert "Retrait en cours : nous attendons la confirmation de la plateforme" in html


def test_links_added_later_become_items_for_review(client: TestClient, database: Database) -> None:
    number, secret = file_request(client)
    html = _page(client, number, secret)
    page = client.post(
        "/status/info",
        data={
            "csrf_token": csrf_of(html),
            "information": "Another copy: https://platform.example/p/789.",
        },
    )
    assert page.status_code == 200
    assert _states(page.text) == ["awaiting_review", "awaiting_review"]
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert [i.url for i in case.items] == [
            "https://platform.example/p/123",
            "https://platform.example/p/789",
        ]


def test_an_item_handled_outside_is_never_called_removed(
    client: TestClient, database: Database
) -> None:
    # Hashes that match nothing registered: the reviewer handles the item by other means.
    number, secret = file_request(client, **{"items[0].url": "", "items[0].pdq": "e" * 64})
    services = services_of(client.app)  # type: ignore[arg-type]
    with database.session() as session:
        user = create_user(session, "rita", "correct horse battery", "reviewer")
        case = session.scalars(select(Request)).one()
        review.decide(
            session,
            services.settings,
            case,
            review.Reviewer.of_user(user),
            "remove",
            enforce=services.enforce,
            items={case.items[0].id: review.ItemChoice(review.ItemStatus.HANDLED_OUTSIDE, "hm")},
        )
    html = _page(client, number, secret)
    assert _states(html) == ["handled_outside"]
    assert "Removed: the platform confirmed it" not in html
    assert "Handled by our team by other means" in html
