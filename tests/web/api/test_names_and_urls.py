"""The API refuses invisible formatting characters in ids, names and URLs, and any URL but
http(s) in the registry; nothing is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from rescind.platform.apikeys import SCOPES, create_api_key
from rescind.store import Database
from rescind.store.models import Content, Request
from tests.web.api.platform_fixtures import Api

HIDDEN = ["\u200b", "\u200d", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069", "\ufeff"]
SPOOFING = ["\u200b", "\u202e", "\u2067", "\ufeff"]


def _count(database: Database, model: type) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_ids_names_and_urls_refuse_hidden_characters_on_the_api(
    api: Api, database: Database
) -> None:
    with database.session() as session:
        _, key = create_api_key(session, "all", frozenset(SCOPES))
    headers = {"Authorization": f"Bearer {key}"}
    pdq = ["ab" * 32]
    for char in HIDDEN:
        calls = [
            ("/v1/check", {"content_id": f"photo{char}1", "pdq": pdq}, "content_id"),
            ("/v1/check", {"content_id": "a", "url": f"https://x.example/{char}"}, "url"),
            ("/v1/content", {"items": [{"content_id": f"v{char}", "pdq": pdq}]},
             "items.0.content_id"),
            ("/v1/banks", {"name": f"ncii{char}"}, "name"),
        ]  # fmt: skip
        for path, body, field in calls:
            response = api.client.post(path, json=body, headers=headers)
            assert response.status_code == 422, (path, char, response.text)
            assert field in [e["field"] for e in response.json()["errors"]], response.text
    assert _count(database, Content) == 0
    # a name with a hidden character names no bank, even one that looks the same
    response = api.client.patch("/v1/banks/ncii\u200b", json={"enabled": False}, headers=headers)
    assert response.status_code == 404


@pytest.mark.parametrize("char", SPOOFING)
def test_a_requester_name_or_signature_refuses_overrides_but_keeps_joiners(
    api: Api, database: Database, char: str
) -> None:
    with database.session() as session:
        _, key = create_api_key(session, "w", frozenset({"requests:write"}))
    headers = {"Authorization": f"Bearer {key}"}

    def request(name: str, signature: str) -> dict[str, object]:
        return {
            "language": "en",
            "channel": "api",
            "requester": {"name": name, "email": "a@example.com", "representative": False},
            "signature": signature,
            "good_faith_statement": "I believe in good faith that this shows me without consent.",
            "items": [{"url": "https://example.com/x"}],
        }

    for body, field in (
        (request(f"Ana{char} Lee", "Ana Lee"), "requester.name"),
        (request("Ana Lee", f"Ana Lee{char}"), "signature"),
        ({**request("Ana Lee", "Ana Lee"), "items": [{"url": f"https://e.example/{char}"}]},
         "items[0].url"),
    ):  # fmt: skip
        response = api.client.post("/v1/requests", json=body, headers=headers)
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]], response.text
    assert _count(database, Request) == 0
    # Persian is written with the zero-width non-joiner: such a name is accepted
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    response = api.client.post("/v1/requests", json=request(persian, persian), headers=headers)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://files.example/a", "file:///etc/passwd", "https://", "//x"]
)
def test_the_registry_takes_http_and_https_urls_only(
    api: Api, database: Database, url: str
) -> None:
    with database.session() as session:
        _, key = create_api_key(session, "all", frozenset(SCOPES))
    headers = {"Authorization": f"Bearer {key}"}
    pdq = ["ab" * 32]
    check = api.client.post(
        "/v1/check", json={"content_id": "a", "url": url, "pdq": pdq}, headers=headers
    )
    content = api.client.post(
        "/v1/content", json={"items": [{"content_id": "b", "url": url, "pdq": pdq}]},
        headers=headers,
    )  # fmt: skip
    assert (check.status_code, content.status_code) == (422, 422), (check.text, content.text)
    assert _count(database, Content) == 0
    ok = {"content_id": "a", "url": "HTTPS://x.example/a", "pdq": pdq}
    assert api.client.post("/v1/check", json=ok, headers=headers).status_code == 200
