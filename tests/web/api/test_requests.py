"""`/v1/requests`: file, read and decide through the API with scoped keys; each missing TAKE IT
DOWN element is a 422 problem naming its field, and nothing is stored then."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rescind.cases.intake import submit_request
from rescind.config import Settings
from rescind.platform.apikeys import create_api_key
from rescind.platform.media_signals import bank_signals_from_media, media_limits
from rescind.platform.signals import Signals
from rescind.store import Database
from rescind.store.models import BankEntry, Request
from rescind.web import create_app
from tests.cases.support import valid_input
from tests.e2e import media
from tests.e2e.media import reported
from tests.platform.helpers import gradient_png


@pytest.fixture
def api(settings: Settings, database: Database) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A client and bearer headers for: writer, reader, reviewer, and a check-only key."""
    with database.session() as session:
        keys = {
            name: create_api_key(session, name, frozenset(scopes))[1]
            for name, scopes in (
                ("writer", {"requests:write"}),
                ("reader", {"requests:read"}),
                ("reviewer", {"review", "requests:read"}),
                ("checker", {"check"}),
                ("platform", {"content"}),
            )
        }
    with TestClient(create_app(settings, database=database)) as client:
        yield client, {k: f"Bearer {v}" for k, v in keys.items()}


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "language": "fr",
        "channel": "api",
        "requester": {"name": "Alex Example", "email": "alex@example.org", "representative": True},
        "signature": "Alex Example",
        "good_faith_statement": "Je n'ai jamais consenti.",
        "items": [
            {
                "url": "https://platform.example/p/1",
                "content_id": "p-1",
                "pdq": ["a" * 64],
                "md5": "b" * 32,
            }
        ],
    }
    body.update(changes)
    return body


def _count(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(Request)) or 0)


def test_file_read_and_decide(api: tuple[TestClient, dict[str, str]], database: Database) -> None:
    client, auth = api
    created = client.post("/v1/requests", json=_body(), headers={"Authorization": auth["writer"]})
    assert created.status_code == 201, created.text
    data = created.json()
    assert set(data) == {"case_number", "secret", "status", "deadline_at"}
    assert data["status"] == "received"
    number = data["case_number"]
    read = client.get(f"/v1/requests/{number}", headers={"Authorization": auth["reader"]})
    assert read.status_code == 200
    assert read.json()["items"][0]["pdq"] == ["a" * 64] and "email" not in read.text
    decided = client.post(
        f"/v1/requests/{number}/decision",
        json={"outcome": "remove", "reason": "valid request"},
        headers={"Authorization": auth["reviewer"]},
    )
    assert decided.status_code == 200, decided.text
    case = decided.json()
    # Decided, not removed: the platform has not confirmed yet.
    assert case["status"] == "removal_pending" and case["decisions"][0]["outcome"] == "remove"
    assert case["removed_at"] is None and case["items"][0]["state"] == "removal_pending"
    (action,) = case["actions"]
    assert (action["content_id"], action["url"], action["status"]) == ("p-1", None, "pending")
    # The DSA statement of reasons: the content was named in a notice, a person decided.
    statement = action["statement_of_reasons"]
    assert (statement["source"], statement["automated_detection"]) == ("notice", False)
    assert statement["automated_decision"] == "not_automated"
    assert case["case_number"] in statement["facts"]
    # The requester's hashes match nothing registered: no lead, and never an action.
    assert case["leads"] == []
    confirmed = client.post(
        f"/v1/actions/{action['id']}/done",
        json={"outcome": "removed", "note": "taken down"},
        headers={"Authorization": auth["platform"]},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["status"], confirmed.json()["outcome"]) == ("confirmed", "removed")
    case = client.get(f"/v1/requests/{number}", headers={"Authorization": auth["reader"]}).json()
    assert case["status"] == "removed" and case["removed_at"] == case["actions"][0]["confirmed_at"]
    assert case["items"][0]["state"] == "removed"
    listed = client.get(
        "/v1/requests?status=removed", headers={"Authorization": auth["reader"]}
    ).json()
    assert [c["case_number"] for c in listed["items"]] == [number] and listed["next"] is None
    again = client.post(
        f"/v1/requests/{number}/decision",
        json={"outcome": "reject"},
        headers={"Authorization": auth["reviewer"]},
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"signature": None}, ["signature"]),
        ({"good_faith_statement": ""}, ["good_faith_statement"]),
        ({"requester": None}, ["requester.name", "requester.email"]),
        ({"items": []}, ["items"]),
        ({"items": [{"pdq": ["xyz"]}]}, ["items[0].pdq"]),
        ({"items": [{"pdq": ["a" * 64] * 129}]}, ["items[0].pdq"]),
        (
            {"signature": None, "good_faith_statement": None, "requester": None, "items": []},
            ["items", "good_faith_statement", "requester.name", "requester.email", "signature"],
        ),
    ],
)
def test_missing_elements_are_named_and_nothing_is_stored(
    api: tuple[TestClient, dict[str, str]],
    database: Database,
    changes: dict[str, Any],
    fields: list[str],
) -> None:
    client, auth = api
    response = client.post(
        "/v1/requests", json=_body(**changes), headers={"Authorization": auth["writer"]}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == fields
    assert _count(database) == 0


def test_scopes_are_enforced(api: tuple[TestClient, dict[str, str]], database: Database) -> None:
    client, auth = api
    assert client.post("/v1/requests", json=_body()).status_code == 401
    assert (
        client.post(
            "/v1/requests", json=_body(), headers={"Authorization": auth["checker"]}
        ).status_code
        == 403
    )
    number = client.post(
        "/v1/requests", json=_body(), headers={"Authorization": auth["writer"]}
    ).json()["case_number"]
    assert (
        client.get(f"/v1/requests/{number}", headers={"Authorization": auth["writer"]}).status_code
        == 403
    )
    assert (
        client.post(
            f"/v1/requests/{number}/decision",
            json={"outcome": "remove"},
            headers={"Authorization": auth["reader"]},
        ).status_code
        == 403
    )
    assert (
        client.get(
            "/v1/requests/RSC-0000-0000-0000", headers={"Authorization": auth["reader"]}
        ).status_code
        == 404
    )
    bad = client.post(
        f"/v1/requests/{number}/decision",
        json={"outcome": "need_info"},
        headers={"Authorization": auth["reviewer"]},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reason"


def test_a_url_only_item_and_per_item_decisions(
    api: tuple[TestClient, dict[str, str]], database: Database
) -> None:
    client, auth = api
    items = [{"url": "https://platform.example/never-seen"}, {"pdq": ["c" * 64]}]
    number = client.post(
        "/v1/requests", json=_body(items=items), headers={"Authorization": auth["writer"]}
    ).json()["case_number"]
    reviewer = {"Authorization": auth["reviewer"]}
    plan = client.get(f"/v1/requests/{number}/plan", headers=reviewer).json()
    first, second = (i["item_id"] for i in plan["items"])
    assert plan["actions"] == 1 and plan["leads"] == 0 and plan["nothing"] == [second]
    refused = client.post(
        f"/v1/requests/{number}/decision", json={"outcome": "remove"}, headers=reviewer
    )
    assert refused.status_code == 422 and "item 2 leads to no content" in refused.text
    decided = client.post(
        f"/v1/requests/{number}/decision",
        json={
            "outcome": "remove",
            "items": [{"id": second, "outcome": "handled_outside", "note": "sent to StopNCII"}],
        },
        headers=reviewer,
    )
    assert decided.status_code == 200, decided.text
    case = decided.json()
    (action,) = case["actions"]
    assert (action["content_id"], action["url"], action["item_id"]) == (
        None,
        "https://platform.example/never-seen",
        first,
    )
    assert [i["status"] for i in case["items"]] == ["remove", "handled_outside"]
    listed = client.get(
        "/v1/requests?status=removal_pending&limit=1", headers={"Authorization": auth["reader"]}
    )
    assert listed.status_code == 200 and listed.json()["items"][0]["case_number"] == number
    bad = client.get("/v1/requests?cursor=nonsense", headers={"Authorization": auth["reader"]})
    assert bad.status_code == 422


def test_cases_are_listed_page_by_page(
    api: tuple[TestClient, dict[str, str]], database: Database
) -> None:
    client, auth = api
    numbers = [
        client.post("/v1/requests", json=_body(), headers={"Authorization": auth["writer"]}).json()[
            "case_number"
        ]
        for _ in range(3)
    ]
    reader = {"Authorization": auth["reader"]}
    seen: list[str] = []
    url = "/v1/requests?limit=2&channel=api&overdue=false"
    while url:
        page = client.get(url, headers=reader).json()
        seen += [c["case_number"] for c in page["items"]]
        url = f"/v1/requests?limit=2&channel=api&cursor={page['next']}" if page["next"] else ""
    assert seen == numbers
    assert client.get("/v1/requests?overdue=true", headers=reader).json()["items"] == []
    later = client.get("/v1/requests?updated_since=2999-01-01T00:00:00Z", headers=reader)
    assert later.status_code == 200 and later.json() == {"items": [], "next": None}
    assert client.get("/v1/requests", headers={"Authorization": auth["writer"]}).status_code == 403


def test_a_case_that_may_concern_a_minor_says_so(
    api: tuple[TestClient, dict[str, str]], settings: Settings, database: Database
) -> None:
    client, auth = api
    with database.session() as session:
        flagged = submit_request(session, settings, valid_input(minor="not_sure")).case_number
        adult = submit_request(session, settings, valid_input(minor="no")).case_number
    headers = {"Authorization": auth["reader"]}
    case = client.get(f"/v1/requests/{flagged}", headers=headers).json()
    assert (case["child_safety"], case["minor_answer"]) == ("possible", "not_sure")
    case = client.get(f"/v1/requests/{adult}", headers=headers).json()
    assert (case["child_safety"], case["minor_answer"]) == ("none", "no")
    created = client.post("/v1/requests", json=_body(), headers={"Authorization": auth["writer"]})
    number = created.json()["case_number"]
    case = client.get(f"/v1/requests/{number}", headers=headers).json()
    assert (case["child_safety"], case["minor_answer"]) == ("none", None)


def test_restore_through_the_api(
    api: tuple[TestClient, dict[str, str]], database: Database
) -> None:
    client, auth = api
    items = [{"url": "https://platform.example/never-seen"}]
    number = client.post(
        "/v1/requests", json=_body(items=items), headers={"Authorization": auth["writer"]}
    ).json()["case_number"]
    reviewer = {"Authorization": auth["reviewer"]}
    decided = client.post(
        f"/v1/requests/{number}/decision", json={"outcome": "remove"}, headers=reviewer
    )
    assert decided.status_code == 200, decided.text
    url = f"/v1/requests/{number}/restore"
    reader = {"Authorization": auth["reader"]}
    assert client.post(url, json={"reason": "x"}, headers=reader).status_code == 403
    empty = client.post(url, json={"reason": "  "}, headers=reviewer)
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "reason"
    restored = client.post(url, json={"reason": "removed in error"}, headers=reviewer)
    assert restored.status_code == 200, restored.text
    types = [(a["type"], a["url"]) for a in restored.json()["actions"]]
    target = "https://platform.example/never-seen"
    assert types == [("content.remove", target), ("content.restore", target)]
    again = client.post(url, json={"reason": "again"}, headers=reviewer)
    assert again.status_code == 200 and len(again.json()["actions"]) == 2
    assert (
        client.post(
            "/v1/requests/RSC-0000-0000-0000/restore", json={"reason": "x"}, headers=reviewer
        ).status_code
        == 404
    )


def test_consent_to_share_with_stopncii_is_asked_never_assumed(
    api: tuple[TestClient, dict[str, str]], database: Database
) -> None:
    client, auth = api
    writer, reader = {"Authorization": auth["writer"]}, {"Authorization": auth["reader"]}
    silent = client.post("/v1/requests", json=_body(), headers=writer).json()["case_number"]
    agreed = client.post("/v1/requests", json=_body(share_consent=True), headers=writer)
    assert agreed.status_code == 201
    refused = client.post("/v1/requests", json=_body(share_consent="maybe"), headers=writer)
    assert refused.status_code == 422 and _count(database) == 2
    number = agreed.json()["case_number"]
    assert client.get(f"/v1/requests/{silent}", headers=reader).json()["share_consent"] is False
    assert client.get(f"/v1/requests/{number}", headers=reader).json()["share_consent"] is True


@pytest.mark.parametrize("outcome", ["remove", "reject", "need_info"])
def test_an_unknown_reason_code_is_refused_whatever_the_outcome(
    api: tuple[TestClient, dict[str, str]], database: Database, outcome: str
) -> None:
    """A reason code is stored on the decision and shown to reviewers: only known codes, for
    every outcome (it was checked for rejections only)."""
    client, auth = api
    number = client.post(
        "/v1/requests", json=_body(), headers={"Authorization": auth["writer"]}
    ).json()["case_number"]
    body = {"outcome": outcome, "reason_code": "<b>made-up</b>", "message": "Please say where."}
    refused = client.post(
        f"/v1/requests/{number}/decision", json=body, headers={"Authorization": auth["reviewer"]}
    )
    assert refused.status_code == 422, refused.text
    case = client.get(f"/v1/requests/{number}", headers={"Authorization": auth["reader"]}).json()
    assert case["decisions"] == [] and case["status"] == "received"
    known = {**body, "reason_code": "duplicate"}
    decided = client.post(
        f"/v1/requests/{number}/decision", json=known, headers={"Authorization": auth["reviewer"]}
    )
    assert decided.status_code == 200, decided.text


def _views(signals: Signals) -> tuple[str, list[str]]:
    """A file's bank signals as an API item sends them: its own hash, and its views."""
    return signals.pdq[0].hash, [f"{h.variant}:{h.quality}:{h.hash}" for h in signals.pdq]


def _banked(database: Database, number: str) -> list[tuple[str, str, int | None, str, bool]]:
    with database.session() as session:
        request = session.scalars(select(Request).where(Request.case_number == number)).one()
        entries = session.scalars(
            select(BankEntry).where(
                BankEntry.request_id == request.id, BankEntry.signal_type.like("pdq%")
            )
        ).all()
        return sorted(
            (
                e.signal_type,
                e.value,
                e.quality,
                str((e.provenance or {}).get("variant")),
                bool((e.provenance or {}).get("smooth")),
            )
            for e in entries
        )


@pytest.mark.parametrize("picture", ["photo", "gradient"])
def test_views_sent_with_an_item_are_banked_by_name(
    api: tuple[TestClient, dict[str, str]], database: Database, picture: str
) -> None:
    """A platform filing for a person sends the picture's views as the public form does:
    after a remove decision they are banked as `POST /v1/banks/{name}/entries` banks the same
    file (the same types, hashes, qualities and variant names); a smooth picture's (a
    gradient, `smooth: true`) each marked smooth."""
    client, auth = api
    data = media.jpeg(reported()) if picture == "photo" else gradient_png()
    server = bank_signals_from_media(data, media_limits(10**8))
    assert all(h.smooth for h in server.pdq) is (picture == "gradient")
    own, views = _views(server)
    item = {"url": "https://platform.example/p/2", "pdq": [own], "views": views}
    if picture == "gradient":
        item["smooth"] = True
    created = client.post(
        "/v1/requests", json=_body(items=[item]), headers={"Authorization": auth["writer"]}
    )
    assert created.status_code == 201, created.text
    number = created.json()["case_number"]
    decided = client.post(
        f"/v1/requests/{number}/decision",
        json={"outcome": "remove", "reason": "valid request"},
        headers={"Authorization": auth["reviewer"]},
    )
    assert decided.status_code == 200, decided.text
    expected = sorted(
        ("pdq_cut" if h.cut else "pdq", h.hash, h.quality, str(h.variant), h.smooth)
        for h in server.pdq
    )
    assert _banked(database, number) == expected
    assert len(expected) > 20 if picture == "photo" else len(expected) <= 3


A64, B64 = "a" * 64, "b" * 64


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"pdq": [A64], "views": [f"full:90:{A64}", f"nonsense:90:{B64}"]}, "items[0].views"),
        ({"pdq": [A64], "views": [f"full:90:{A64}", f"crop_c92:90:{B64[:-1]}z"]}, "items[0].views"),
        ({"pdq": [A64], "views": [f"full:90:{A64}", f"crop_c92:101:{B64}"]}, "items[0].views"),
        ({"pdq": [A64], "views": [f"full:90:{A64}", f"full:80:{A64}"]}, "items[0].views"),
        ({"pdq": [B64], "views": [f"full:90:{A64}"]}, "items[0].views"),  # not the item's
        ({"pdq": [A64], "views": [f"crop_c92:90:{B64}"]}, "items[0].views"),  # no `full`
        ({"pdq": [A64], "views": [f"full:90:{A64}"] * 105}, "items[0].views"),
        ({"pdq": [A64], "smooth": True}, "items[0].views"),  # smooth needs its views
        (  # a smooth picture's views are whole ones
            {"pdq": [A64], "views": [f"full:90:{A64}", f"full/rot90:90:{B64}"], "smooth": True},
            "items[0].views",
        ),
        ({"pdq": [A64], "views": f"full:90:{A64}"}, "items.0.views"),  # not a list
        ({"pdq": [A64], "views": [90]}, "items.0.views.0"),  # not a string
        ({"pdq": [A64], "views": [f"full:90:{A64}"], "smooth": "maybe"}, "items.0.smooth"),
    ],
)
def test_bad_views_are_named_and_nothing_is_stored(
    api: tuple[TestClient, dict[str, str]],
    database: Database,
    item: dict[str, Any],
    field: str,
) -> None:
    client, auth = api
    response = client.post(
        "/v1/requests", json=_body(items=[item]), headers={"Authorization": auth["writer"]}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert _count(database) == 0
