"""`POST /v1/check`: verdicts per bank policy, the registry, and clear errors on bad input."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from rescind.store import Database
from rescind.store.models import Content, ContentSignal, Match
from tests.conftest import METRICS
from tests.platform.helpers import flip, random_pdq
from tests.web.api.platform_fixtures import Api

RNG = random.Random(31)
BANKED = random_pdq(RNG)


def _bank(api: Api, bank: str = "ncii", **signals: object) -> list[int]:
    response = api.client.post(f"/v1/banks/{bank}/entries", json=signals, headers=api.review)
    assert response.status_code == 201, response.text
    api.sync()
    ids: list[int] = response.json()["entry_ids"]
    return ids


def _check(api: Api, content_id: str, **body: object) -> dict[str, object]:
    response = api.client.post(
        "/v1/check", json={"content_id": content_id, **body}, headers=api.check
    )
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_unknown_content_is_allowed_and_recorded(api: Api, database: Database) -> None:
    pdq = random_pdq(RNG)
    assert _check(api, "c1", url="https://p.example/1", pdq=[pdq], md5="0" * 32) == {
        "content_id": "c1",
        "verdict": "allow",
        "matches": [],
    }
    with database.session() as session:
        content = session.scalars(select(Content)).one()
        assert (content.content_id, content.url, content.state) == (
            "c1",
            "https://p.example/1",
            "live",
        )
        stored = {(s.signal_type, s.value) for s in session.scalars(select(ContentSignal))}
        assert stored == {("pdq", pdq), ("md5", "0" * 32)}


def test_near_copy_blocks_far_one_is_allowed_and_no_distance_leaks(api: Api) -> None:
    _bank(api, pdq=[BANKED])
    near = _check(api, "near", pdq=[flip(BANKED, 30, RNG)])
    assert near["verdict"] == "block"
    assert near["matches"] == [{"bank": "ncii"}]
    assert "distance" not in str(near)
    assert _check(api, "far", pdq=[flip(BANKED, 33, RNG)])["verdict"] == "allow"


def test_per_bank_threshold_and_review_policy(api: Api) -> None:
    _bank(api, pdq=[BANKED])
    response = api.client.patch(
        "/v1/banks/ncii", json={"pdq_threshold": 10, "on_match": "review"}, headers=api.review
    )
    assert response.status_code == 200, response.text
    api.sync()
    assert _check(api, "a", pdq=[flip(BANKED, 20, RNG)])["verdict"] == "allow"
    assert _check(api, "b", pdq=[flip(BANKED, 8, RNG)])["verdict"] == "review"


def test_low_quality_never_blocks_alone_but_an_exact_hash_does(api: Api) -> None:
    _bank(api, pdq=[BANKED], md5="ab" * 16)
    blurry = {"hash": flip(BANKED, 2, RNG), "quality": 30}
    assert _check(api, "q1", pdq=[blurry])["verdict"] == "review"
    assert _check(api, "q2", pdq=[blurry], md5="ab" * 16)["verdict"] == "block"


def test_allow_list_overrides(api: Api) -> None:
    _bank(api, pdq=[BANKED])
    _bank(api, "allow", pdq=[BANKED])
    result = _check(api, "meme", pdq=[flip(BANKED, 3, RNG)])
    assert result == {"content_id": "meme", "verdict": "allow", "matches": []}


def test_withdrawn_entry_stops_matching(api: Api) -> None:
    ids = _bank(api, sha256="cd" * 32)
    assert _check(api, "x", sha256="CD" * 32)["verdict"] == "block"
    response = api.client.delete(f"/v1/banks/ncii/entries/{ids[0]}", headers=api.review)
    assert response.status_code == 204
    api.sync()
    assert _check(api, "x", sha256="cd" * 32)["verdict"] == "allow"


def test_video_clip_and_long_video_both_directions(api: Api) -> None:
    banked = [random_pdq(RNG) for _ in range(10)]
    _bank(api, video_pdq=[{"hash": h, "t": float(i)} for i, h in enumerate(banked)])
    # A 40 s upload that contains the 10 s banked clip.
    long_upload = [random_pdq(RNG) for _ in range(30)] + [flip(h, 4, RNG) for h in banked]
    assert _check(api, "long", video_pdq=long_upload)["verdict"] == "block"
    # A 4 s clip cut from the banked video.
    assert (
        _check(api, "clip", video_pdq=[flip(h, 4, RNG) for h in banked[3:7]])["verdict"] == "block"
    )
    # Two frames in common out of 30 either way: not a match.
    unrelated = [random_pdq(RNG) for _ in range(28)] + banked[:2]
    assert _check(api, "other", video_pdq=unrelated)["verdict"] == "allow"


def test_video_frames_as_vpdq_lines_match_like_video_pdq(api: Api) -> None:
    banked = [random_pdq(RNG) for _ in range(10)]
    lines = "".join(f"{i * 30},100,{h},{i}.000\n" for i, h in enumerate(banked))
    _bank(api, vpdq=lines)  # banked from a vPDQ file, as Meta's vpdq tool writes it
    clip = [flip(h, 4, RNG) for h in banked[3:7]]
    text = "".join(f"{i},90,{h},{i + 3}.000\n" for i, h in enumerate(clip))
    assert _check(api, "clip", vpdq=text)["verdict"] == "block"
    unrelated = "".join(f"{i},90,{random_pdq(RNG)},{i}.0\n" for i in range(10))
    assert _check(api, "other", vpdq=unrelated)["verdict"] == "allow"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content_id": "x", "vpdq": "0,100," + "a" * 64}, "vpdq"),
        ({"content_id": "x", "vpdq": "0,100," + "a" * 64 + ",nan"}, "vpdq"),
        ({"content_id": "x", "vpdq": "0,100,x,0.0", "video_pdq": ["a" * 64]}, "vpdq"),
        ({"content_id": "x", "pdq": ["abc"]}, "pdq.0"),
        ({"content_id": "x", "pdq": ["g" * 64]}, "pdq.0"),
        ({"content_id": "x", "pdq": ["a" * 65]}, "pdq.0"),
        ({"content_id": "x", "md5": "a" * 31}, "md5"),
        ({"content_id": "x", "sha256": "a" * 63}, "sha256"),
        ({"content_id": "x", "video_pdq": [{"hash": "a" * 64, "t": -1}]}, "video_pdq.0"),
        ({"content_id": "x", "pdq": [{"hash": "a" * 64, "quality": 101}]}, "pdq.0.quality"),
        ({"content_id": "x"}, "pdq"),
        ({"pdq": ["a" * 64]}, "content_id"),
        ({"content_id": "", "pdq": ["a" * 64]}, "content_id"),
        ({"content_id": "x", "pdq": "a" * 64}, "pdq"),
    ],
)
def test_malformed_hashes_are_422_naming_the_field(
    api: Api, database: Database, body: dict[str, object], field: str
) -> None:
    response = api.client.post("/v1/check", json=body, headers=api.check)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = [e["field"] for e in response.json()["errors"]]
    assert any(f == field or f.startswith(field + ".") for f in fields), fields
    with database.session() as session:
        assert session.scalars(select(Content)).all() == []


def test_not_json_and_bad_keys(api: Api) -> None:
    response = api.client.post(
        "/v1/check", content=b"{nope", headers={**api.check, "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert api.client.post("/v1/check", json={}).status_code == 401
    wrong_scope = api.client.post(
        "/v1/check", json={"content_id": "x", "md5": "a" * 32}, headers=api.content
    )
    assert wrong_scope.status_code == 403


def test_unknown_bank_is_404(api: Api) -> None:
    response = api.client.post("/v1/banks/nope/entries", json={"md5": "a" * 32}, headers=api.review)
    assert response.status_code == 404
    assert response.json()["title"] == "Unknown bank"
    assert api.client.patch("/v1/banks/nope", json={}, headers=api.review).status_code == 404


def _fast_checks(api: Api) -> float:
    metrics = api.client.get("/metrics", headers=METRICS).text
    line = next(x for x in metrics.splitlines() if x.startswith("rescind_checks_fast_path_total"))
    return float(line.split()[1])


def test_hot_path_answers_exactly_like_the_route(api: Api, database: Database) -> None:
    _bank(api, pdq=[BANKED])
    body = {"content_id": "hot", "url": "https://p.example/é", "pdq": [flip(BANKED, 8, RNG)]}
    # A key is verified against the database once (the route), then served from the cache
    # by the hot path: both answers must be the same, headers included.
    first = api.client.post("/v1/check", json=body, headers=api.check)
    assert _fast_checks(api) == 0
    second = api.client.post("/v1/check", json=body, headers=api.check)
    assert _fast_checks(api) == 1
    assert (first.status_code, first.json()) == (second.status_code, second.json())
    assert first.json() == {"content_id": "hot", "verdict": "block", "matches": [{"bank": "ncii"}]}
    assert {k: v for k, v in first.headers.items() if k != "date"} == {
        k: v for k, v in second.headers.items() if k != "date"
    }
    assert second.headers["content-security-policy"].startswith("default-src 'none'")
    # ... and the hot path's check is in the registry, with its match.
    other = {**body, "content_id": "hot2", "url": None}
    assert api.client.post("/v1/check", json=other, headers=api.check).json()["verdict"] == "block"
    assert _fast_checks(api) == 2
    with database.session() as session:
        content = session.scalars(select(Content).where(Content.content_id == "hot2")).one()
        assert content.state == "blocked"
        signals = session.scalars(
            select(ContentSignal.value).where(ContentSignal.content_pk == content.id)
        ).all()
        assert signals == [body["pdq"][0]]  # type: ignore[index]
        assert session.scalar(select(func.count(Match.id)).where(Match.content_pk == content.id))


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"content_id": "x", "pdq": ["zz"]}', 422),
        (b'{"content_id": "", "md5": "' + b"a" * 32 + b'"}', 422),
        (b'{"content_id": "x"}', 422),
        (b"{nope", 422),
        (b'{"content_id": "x", "md5": "' + b"a" * 32 + b'", "url": "' + b"u" * 3000 + b'"}', 422),
    ],
)
def test_hot_path_leaves_bad_input_to_the_route(
    api: Api, database: Database, body: bytes, status: int
) -> None:
    warm = {"content_id": "w", "md5": "b" * 32}
    assert api.client.post("/v1/check", json=warm, headers=api.check).status_code == 200
    response = api.client.post(
        "/v1/check", content=body, headers={**api.check, "content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert _fast_checks(api) == 0
    with database.session() as session:
        assert session.scalars(select(Content.content_id)).all() == ["w"]


def test_hot_path_keeps_scopes_and_keys(api: Api) -> None:
    body = {"content_id": "s", "md5": "c" * 32}
    for _ in range(2):  # the second time, both keys are in the verified-key cache
        assert api.client.post("/v1/check", json=body, headers=api.content).status_code == 403
        wrong = {"Authorization": "Bearer rsk_nope_nope"}
        assert api.client.post("/v1/check", json=body, headers=wrong).status_code == 401
    assert _fast_checks(api) == 0
