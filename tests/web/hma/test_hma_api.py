"""The HMA-compatible routes, driven the way HMA's own tests and integrations call HMA
(`client.post("/c/banks", json=...)`, `client.get("/m/lookup", params=...)`, a file in a
`photo` field), plus a bearer key: a platform moves from HMA by changing its base URL."""

from __future__ import annotations

import logging
import random

import pytest
from sqlalchemy import select

from rescind.store import Database
from rescind.store.models import AuditEvent
from tests.e2e import media
from tests.platform.helpers import flip, random_pdq
from tests.web.api.platform_fixtures import Api

# HMA's own comparison specimens (its test_compare_hashes): 9 bits apart.
SPECIMEN1 = "facd8bcb2a49bcebdec1985298d5fe84bcd006c187c598c720c3c087b3fdb318"
SPECIMEN2 = "facd8bcb2a49bcebdec1985228d5ae84bcd006c187c598c720c2b087b3fdb318"


def _lookup(api: Api, signal: str, signal_type: str = "pdq", **extra: str) -> object:
    params = {"signal": signal, "signal_type": signal_type, **extra}
    return api.client.get("/m/lookup", params=params, headers=api.check)


def test_banked_pdq_is_found_near_and_stops_matching_once_removed(
    api: Api, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rng = random.Random(20)
    banked = random_pdq(rng)
    created = api.client.post("/c/banks", json={"name": "NCII_BANK"}, headers=api.review)
    assert created.status_code == 201, created.text
    assert created.json() == {"name": "NCII_BANK", "matching_enabled_ratio": 1.0}
    listed = api.client.get("/c/banks", headers=api.review).json()
    assert {"name": "NCII_BANK", "matching_enabled_ratio": 1.0} in listed
    assert {"name": "NCII", "matching_enabled_ratio": 1.0} in listed  # our `ncii`, HMA-named

    added = api.client.post(
        "/c/bank/NCII_BANK/signal", json={"pdq": banked, "note": "seen"}, headers=api.review
    )
    assert added.status_code == 200, added.text
    content_id = added.json()["id"]
    assert added.json() == {"id": content_id, "signals": {"pdq": banked}}
    api.sync()

    found = {"NCII_BANK": [{"bank_content_id": content_id, "action": "block"}]}
    assert _lookup(api, banked).json() == found
    near = flip(banked, 31, rng)
    assert _lookup(api, near).json() == found
    assert _lookup(api, flip(banked, 60, rng)).json() == {}
    assert _lookup(api, near, banks="NCII").json() == {}  # HMA's bank filter
    raw = api.client.get(
        "/m/raw_lookup", params={"signal": near, "signal_type": "pdq"}, headers=api.check
    )
    assert raw.json() == {"matches": [content_id]}
    raw = api.client.get(
        "/m/raw_lookup",
        params={"signal": near, "signal_type": "pdq", "include_distance": "true"},
        headers=api.check,
    )
    assert raw.json() == {"matches": [{"bank_content_id": content_id}]}  # no distance

    shown = api.client.get(f"/c/bank/NCII_BANK/content/{content_id}", headers=api.review)
    assert shown.json() == {
        "id": content_id,
        "disable_until_ts": 1,
        "original_media_uri": None,
        "bank": {"name": "NCII_BANK", "matching_enabled_ratio": 1.0},
        "note": "seen",
    }

    removed = api.client.delete(f"/c/bank/NCII_BANK/content/{content_id}", headers=api.review)
    assert removed.json() == {"deleted": 1}
    api.sync()
    assert _lookup(api, banked).json() == {}
    again = api.client.delete(f"/c/bank/NCII_BANK/content/{content_id}", headers=api.review)
    assert again.json() == {"deleted": 0}
    shown = api.client.get(f"/c/bank/NCII_BANK/content/{content_id}", headers=api.review)
    assert shown.json()["disable_until_ts"] == 0

    with database.session() as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    actions = [e.action for e in events]
    for action in ("bank.created", "bank.listed", "bank.entries_added", "bank.item_read"):
        assert action in actions
    assert actions.count("bank.item_withdrawn") == 2
    assert all(banked not in str(e.detail) for e in events)
    # The server logs no hash (the test client's own request log is not the server's).
    server_log = "\n".join(r.getMessage() for r in caplog.records if r.name[:5] != "httpx")
    assert banked not in server_log and near not in server_log


def test_an_uploaded_photo_is_banked_hashed_and_looked_up_as_hma_does(api: Api) -> None:
    photo = media.jpeg(media.reported())
    hashed = api.client.post(
        "/h/hash", files={"photo": ("p.jpg", photo, "image/jpeg")}, headers=api.check
    )
    assert hashed.status_code == 200, hashed.text
    assert set(hashed.json()) == {"pdq"}
    added = api.client.post(
        "/c/bank/NCII/content",
        files={"photo": ("p.jpg", photo, "image/jpeg")},
        data={"metadata": '{"content_id": "upload-7"}'},
        headers=api.review,
    )
    assert added.status_code == 200, added.text
    assert added.json()["signals"] == hashed.json()
    content_id = added.json()["id"]
    api.sync()
    # A re-encoded copy, looked up by file: keyed by signal type, then by bank.
    copy = media.jpeg(media.reported(), quality=60)
    found = api.client.post(
        "/m/lookup", files={"photo": ("c.jpg", copy, "image/jpeg")}, headers=api.check
    )
    assert found.status_code == 200, found.text
    assert found.json() == {"pdq": {"NCII": [{"bank_content_id": content_id, "action": "block"}]}}
    shown = api.client.get(f"/c/bank/ncii/content/{content_id}", headers=api.review).json()
    assert shown["metadata"] == {"content_id": "upload-7"}
    # Removing the item withdraws all its views: the copy no longer matches.
    gone = api.client.put(
        f"/c/bank/NCII/content/{content_id}", json={"disable_until_ts": 0}, headers=api.review
    )
    assert gone.json()["disable_until_ts"] == 0
    api.sync()
    again = api.client.post(
        "/m/lookup", files={"photo": ("c.jpg", copy, "image/jpeg")}, headers=api.check
    )
    assert again.json() == {"pdq": {}}


def test_our_verdict_rules_hold_through_hma_lookups(api: Api) -> None:
    rng = random.Random(21)
    review_hash, allowed = random_pdq(rng), random_pdq(rng)
    api.client.post("/c/banks", json={"name": "PARTNER_LEADS"}, headers=api.review)
    policy = api.client.patch(
        "/v1/banks/PARTNER_LEADS", json={"on_match": "review"}, headers=api.review
    )
    assert policy.status_code == 200
    both = api.client.post(
        "/c/bank/PARTNER_LEADS/signal",
        json={"pdq": review_hash.upper(), "video_md5": "AB" * 16},
        headers=api.review,
    )
    assert both.json()["signals"] == {"pdq": review_hash, "video_md5": "ab" * 16}
    # A "not NCII" verdict on the allow list overrides a match in an NCII bank.
    api.client.post("/c/bank/NCII/signal", json={"pdq": allowed}, headers=api.review)
    api.client.post("/v1/banks/allow/entries", json={"pdq": [allowed]}, headers=api.review)
    api.sync()
    answer = _lookup(api, review_hash).json()
    assert [m["action"] for m in answer["PARTNER_LEADS"]] == ["review"]
    by_md5 = _lookup(api, "ab" * 16, "video_md5").json()
    assert by_md5 == {"PARTNER_LEADS": answer["PARTNER_LEADS"]}  # one item, found by either
    assert _lookup(api, allowed).json() == {}


def test_hma_compare_matches_its_own_specimens(api: Api) -> None:
    answer = api.client.post("/m/compare", json={"pdq": [SPECIMEN1, SPECIMEN2]}, headers=api.check)
    assert answer.json() == {"pdq": [True, {"distance": 9}]}
    bad_inputs: list[object] = [
        ["banana"],
        {"pdq": "banana"},
        {"pdq": []},
        {"pdq": ["banana", "banana"]},
        {"pdq": [SPECIMEN1, SPECIMEN2, SPECIMEN1]},
        {"nope": [SPECIMEN1, SPECIMEN2]},
    ]
    for bad in bad_inputs:
        response = api.client.post("/m/compare", json=bad, headers=api.check)
        assert response.status_code == 400, bad
        assert "message" in response.json()


def test_bad_input_is_an_hma_style_4xx_and_changes_nothing(api: Api, database: Database) -> None:
    h = random_pdq(random.Random(22))
    cases = [
        (api.client.get("/c/bank/NOPE", headers=api.review), 404),
        (api.client.post("/c/bank/NOPE/signal", json={"pdq": h}, headers=api.review), 404),
        (api.client.get("/c/bank/NCII/content/99999", headers=api.review), 404),
        (api.client.get("/c/bank/NCII/content/x1", headers=api.review), 404),
        (api.client.post("/c/bank/NCII/signal", json={"pdq": "abc"}, headers=api.review), 400),
        (api.client.post("/c/bank/NCII/signal", json={"vpdq": h}, headers=api.review), 400),
        (api.client.post("/c/bank/NCII/signal", json={}, headers=api.review), 400),
        (api.client.post("/c/bank/NCII/signal", content=b"[1", headers=api.review), 400),
        (api.client.post("/c/bank/NCII/content", headers=api.review), 400),
        (api.client.post("/c/bank/NCII/content?url=http://x.example/a.jpg", headers=api.review),
         400),
        (api.client.post("/c/banks", json={"name": "01_BANK"}, headers=api.review), 400),
        (api.client.post("/c/banks", json={"name": "my_bank"}, headers=api.review), 400),
        (api.client.post("/c/banks", json={"name": "X", "enabled_ratio": 0.5},
                         headers=api.review), 400),
        (api.client.post("/c/banks", json={"name": "NCII"}, headers=api.review), 403),
        (_lookup(api, "abc"), 400),
        (_lookup(api, h, "vpdq"), 400),
        (api.client.get("/m/lookup", headers=api.check), 400),
        (api.client.get("/m/lookup?url=http://x.example/a.jpg", headers=api.check), 400),
        (api.client.post("/m/lookup", files={"audio": ("a", b"x")}, headers=api.check), 400),
        (api.client.post("/m/lookup", files={"photo": ("a", b"not an image")},
                         headers=api.check), 400),
        (api.client.get("/m/raw_lookup", params={"signal": h, "signal_type": "pdq",
                        "include_distance": "maybe"}, headers=api.check), 400),
        (api.client.delete("/c/bank/NCII", headers=api.review), 405),
    ]  # fmt: skip
    for response, status in cases:
        assert response.status_code == status, (response.request.url, response.text)
        assert isinstance(response.json()["message"], str)
    # No key, or a key without the route's scope: our keys, HMA's error shape.
    no_key = api.client.get("/m/lookup", params={"signal": h, "signal_type": "pdq"})
    assert no_key.status_code == 401 and no_key.headers["www-authenticate"] == "Bearer"
    assert "message" in no_key.json()
    assert api.client.get("/c/banks").status_code == 401
    assert api.client.get("/c/banks", headers=api.check).status_code == 403
    assert api.client.post("/c/banks", json={"name": "Y"}, headers=api.check).status_code == 403
    names = [b["name"] for b in api.client.get("/c/banks", headers=api.review).json()]
    assert names == ["ALLOW", "NCII"]


def test_hma_file_routes_share_the_decode_budget_and_say_when_to_come_back(api: Api) -> None:
    """With the memory budget taken (as decodes in progress take it), an HMA lookup or bank
    upload of a file waits its turn like /v1/check, then answers 503 in HMA's shape with
    Retry-After; nothing is banked."""
    photo = media.jpeg(media.reported())
    gate = api.runtime.decodes
    assert gate.acquire(gate.budget, 0)
    try:
        for path, headers in (("/m/lookup", api.check), ("/c/bank/NCII/content", api.review)):
            busy = api.client.post(
                path, files={"photo": ("p.jpg", photo, "image/jpeg")}, headers=headers
            )
            assert busy.status_code == 503, busy.text
            assert busy.headers["retry-after"] == "2"
            assert "memory budget" in busy.json()["message"]
    finally:
        gate.release(gate.budget)
    assert gate.reserved == 0
    assert api.client.get("/c/bank/NCII/content/1", headers=api.review).status_code == 404
