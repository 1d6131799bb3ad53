"""`/v1/exchange`: the feed serves only granted banks, in change order with withdrawals, signed
over its exact bytes; feedback reaches only entries the key may read and shows to reviewers."""

from __future__ import annotations

import secrets

from rescind.config import Settings
from rescind.exchange.feed import SIGNATURE_HEADER
from rescind.exchange.format import COLUMNS
from rescind.exchange.identity import load_identity, verify
from rescind.exchange.partners import grant_banks
from rescind.exchange.transfer import export_entries
from rescind.platform.apikeys import create_api_key
from rescind.platform.banks import get_bank
from rescind.store import Database
from tests.web.api.platform_fixtures import Api, api

__all__ = ["api"]


def _bank(api: Api, bank: str, value: str) -> int:
    r = api.client.post(f"/v1/banks/{bank}/entries", json={"pdq": [value]}, headers=api.review)
    assert r.status_code == 201, r.text
    return int(r.json()["entry_ids"][0])


def test_the_feed_is_signed_granted_and_carries_withdrawals(
    api: Api, database: Database, settings: Settings
) -> None:
    with database.session() as session:
        _, key = create_api_key(session, "peer", frozenset({"exchange"}))
        _, other = create_api_key(session, "stranger", frozenset({"exchange"}))
    peer = {"Authorization": f"Bearer {key}"}
    api.client.post("/v1/banks", json={"name": "private", "kind": "ncii"}, headers=api.review)
    shared = _bank(api, "ncii", secrets.token_hex(32))
    _bank(api, "private", secrets.token_hex(32))
    with database.session() as session:
        grant_banks(session, "peer", ["ncii"])

    r = api.client.get("/v1/exchange/feed", params={"after": 0}, headers=peer)
    assert r.status_code == 200
    identity = load_identity(settings)
    scheme, _, signature = r.headers[SIGNATURE_HEADER].partition("=")
    assert scheme == "ed25519" and verify(identity.public_key, r.content, signature)
    page = r.json()
    assert [e["id"] for e in page["entries"]] == [str(shared)]
    assert page["instance"] == identity.instance_id and page["after"] == 0
    assert page["entries"][0]["status"] == "active"

    # A withdrawal comes after the cursor; a key without grants reads nothing.
    api.client.delete(f"/v1/banks/ncii/entries/{shared}", headers=api.review)
    r = api.client.get("/v1/exchange/feed", params={"after": page["next"]}, headers=peer)
    assert [(e["id"], e["status"]) for e in r.json()["entries"]] == [(str(shared), "withdrawn")]
    r = api.client.get("/v1/exchange/feed", headers={"Authorization": f"Bearer {other}"})
    assert r.json()["entries"] == []
    assert api.client.get("/v1/exchange/feed", headers=api.review).status_code == 403

    # Feedback only on what the key may read; reviewers see it.
    body = {"entry_id": str(shared), "verdict": "not_ncii", "note": "a painting"}
    stranger = {"Authorization": f"Bearer {other}"}
    assert api.client.post("/v1/exchange/feedback", json=body, headers=stranger).status_code == 404
    huge = body | {"entry_id": "9" * 40}
    assert api.client.post("/v1/exchange/feedback", json=huge, headers=peer).status_code == 404
    r = api.client.post("/v1/exchange/feedback", json=body, headers=peer)
    assert r.status_code == 201, r.text
    assert (
        api.client.post(
            "/v1/exchange/feedback", json=body | {"verdict": "maybe"}, headers=peer
        ).status_code
        == 422
    )
    shown = api.client.get("/v1/exchange/feedback", headers=api.review).json()
    assert [(f["entry_id"], f["verdict"], f["partner"]) for f in shown] == [
        (shared, "not_ncii", "peer")
    ]


def test_a_feed_page_says_each_entry_as_an_export_does(
    api: Api, database: Database, settings: Settings
) -> None:
    """The feed reads raw rows for speed: its entries must be exactly the exchange form of the
    bank's entries (times in UTC with `Z`, status, opinion, source), withdrawals included."""
    with database.session() as session:
        _, key = create_api_key(session, "peer", frozenset({"exchange"}))
        grant_banks(session, "peer", ["ncii", "allow"])
    kept = [_bank(api, "ncii", secrets.token_hex(32)) for _ in range(3)]
    _bank(api, "allow", secrets.token_hex(32))
    api.client.delete(f"/v1/banks/ncii/entries/{kept[1]}", headers=api.review)
    r = api.client.get("/v1/exchange/feed", headers={"Authorization": f"Bearer {key}"})
    served = {e["id"]: e for e in r.json()["entries"]}
    instance = load_identity(settings).instance_id
    with database.session() as session:
        exported = [
            entry.to_json()
            for name in ("ncii", "allow")
            for entry in export_entries(session, settings, get_bank(session, name), instance)
        ]
    for entry in exported:
        assert served[entry["id"]] == entry
    assert len(served) == len(exported) == 4

    # The same page as columns (rescind-feed/2): the same entries, field by field, signed.
    r = api.client.get(
        "/v1/exchange/feed", params={"format": 2}, headers={"Authorization": f"Bearer {key}"}
    )
    page = r.json()
    signature = r.headers[SIGNATURE_HEADER].removeprefix("ed25519=")
    assert verify(load_identity(settings).public_key, r.content, signature)
    assert page["format"] == "rescind-feed/2" and "entries" not in page
    columns = page["columns"]
    assert set(columns) == set(COLUMNS)
    as_objects = [{name: columns[name][i] for name in COLUMNS} for i in range(len(columns["id"]))]
    assert as_objects == [
        {k: v for k, v in e.items() if k not in ("v", "source")}
        | {"bank": e["source"]["bank"], "case": e["source"]["case"]}
        for e in (served[str(i)] for i in columns["id"])
    ]
    assert columns["id"] == list(served)  # the same change order
    assert (
        api.client.get(
            "/v1/exchange/feed", params={"format": 4}, headers={"Authorization": f"Bearer {key}"}
        ).status_code
        == 422
    )
    assert served[str(kept[1])]["status"] == "withdrawn"
    assert served[str(kept[0])]["created_at"].endswith("Z")
