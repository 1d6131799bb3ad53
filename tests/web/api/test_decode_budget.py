"""Decoding is bounded: a few media uploads are decoded at once and the others are told to
come back (503, Retry-After) without waiting long, while hash checks keep answering; each
decode reserves its estimated memory from a shared budget, and one that needs more than a
decode may use is refused from its header (422); an upload over 1 MiB stays in memory
instead of being spooled to the shared temp directory."""

from __future__ import annotations

import io
import tempfile
import threading
import time
from collections.abc import Iterator

import pytest
import skimage.data
from PIL import Image
from sqlalchemy import select

from rescind.config import Settings
from rescind.platform.apikeys import create_api_key
from rescind.store import Database
from rescind.store.models import BankEntry, Content
from tests.web.api.platform_fixtures import Api, serve_api


def _jpeg(scale: int = 1) -> bytes:
    picture = Image.fromarray(skimage.data.astronaut())
    if scale > 1:
        picture = picture.resize((512 * scale, 512 * scale))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=95)
    return out.getvalue()


def _media_check(api: Api, content_id: str, data: bytes, headers: dict[str, str]) -> object:
    return api.client.post(
        "/v1/check",
        data={"content_id": content_id},
        files={"media": ("a.jpg", data, "image/jpeg")},
        headers=headers,
    )


def test_media_decodes_beyond_the_bound_get_503_and_hash_checks_go_on(
    api: Api, database: Database
) -> None:
    with database.session() as session:
        _, key = create_api_key(session, "both", frozenset({"check", "review"}))
    headers = {"Authorization": f"Bearer {key}"}
    runtime = api.runtime
    slots = runtime.settings.media_decode_concurrency
    # every slot held, as long decodes would hold them
    held = [runtime.decode_slot() for _ in range(slots)]
    for slot in held:
        slot.__enter__()
    try:
        started = time.perf_counter()
        busy = _media_check(api, "m1", _jpeg(), headers)
        waited = time.perf_counter() - started
        assert busy.status_code == 503, busy.text  # type: ignore[attr-defined]
        assert busy.headers["retry-after"] == "2"  # type: ignore[attr-defined]
        assert busy.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
        assert waited < runtime.settings.media_decode_wait_s + 2
        banked = api.client.post(
            "/v1/banks/ncii/entries",
            files={"media": ("a.jpg", _jpeg(), "image/jpeg")},
            headers=headers,
        )
        assert banked.status_code == 503, banked.text
        hashes = api.client.post(
            "/v1/check", json={"content_id": "h1", "pdq": ["ab" * 32]}, headers=headers
        )
        assert hashes.status_code == 200
    finally:
        for slot in held:
            slot.__exit__(None, None, None)
    assert _media_check(api, "m1", _jpeg(), headers).status_code == 200  # type: ignore[attr-defined]


def test_concurrent_media_checks_all_get_an_answer(api: Api, database: Database) -> None:
    """Six uploads at once on two slots: each is decoded or told to retry; none fails."""
    with database.session() as session:
        _, key = create_api_key(session, "c", frozenset({"check"}))
    headers = {"Authorization": f"Bearer {key}"}
    data = _jpeg(scale=4)
    statuses: list[int] = []

    def one(i: int) -> None:
        statuses.append(_media_check(api, f"c{i}", data, headers).status_code)  # type: ignore[attr-defined]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(set(statuses)) <= [200, 503] and statuses.count(200) >= 2, statuses


def test_an_upload_over_a_mebibyte_is_not_spooled_to_the_temp_directory(
    api: Api, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starlette spools a form file over 1 MiB to the shared temp directory (other local
    users could read an upload there while it is being received): ours stay in memory up to
    the upload limit. A temp directory that does not exist proves no file is made there."""
    with database.session() as session:
        _, key = create_api_key(session, "s", frozenset({"check"}))
    data = _jpeg(scale=6)
    assert len(data) > 1024 * 1024
    monkeypatch.setattr(tempfile, "tempdir", "/nonexistent-rescind-temp")
    response = _media_check(api, "big", data, {"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]


def _png(side: int) -> bytes:
    """A photo-like PNG of side x side pixels (the astronaut, resized)."""
    out = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).resize((side, side)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def budget_api(settings: Settings, database: Database) -> Iterator[Api]:
    """The API with a small memory budget: 64 MiB a decode, 200 MiB in all, 3 s of waiting."""
    small = settings.model_copy(
        update={
            "media_decode_memory_mb": 64,
            "media_memory_budget_mb": 200,
            "media_decode_wait_s": 3.0,
        }
    )
    yield from serve_api(small, database)


def test_an_upload_needing_more_memory_than_a_decode_may_use_gets_422_and_changes_nothing(
    budget_api: Api, database: Database
) -> None:
    """A 2,000 x 2,000 PNG needs ~80 MiB to hash (16 bytes a pixel): over 64 MiB, refused
    from its header with 422, nothing recorded. The same picture as a JPEG is decoded at 1/2
    scale for a check (~32 MiB) and answered; banked, a JPEG is decoded at full size: 422."""
    png = _png(2000)
    refused = budget_api.client.post(
        "/v1/check",
        data={"content_id": "big-png"},
        files={"media": ("a.png", png, "image/png")},
        headers=budget_api.check,
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert "MiB of memory" in body["detail"] and "64 MiB" in body["detail"], body
    assert budget_api.runtime.decodes.reserved == 0
    with database.session() as session:
        assert session.scalars(select(Content)).all() == []
    jpeg = _jpeg(scale=4)  # 2,048 x 2,048
    answered = _media_check(budget_api, "big-jpeg", jpeg, budget_api.check)
    assert answered.status_code == 200, answered.text  # type: ignore[attr-defined]
    banked = budget_api.client.post(
        "/v1/banks/ncii/entries",
        files={"media": ("a.jpg", jpeg, "image/jpeg")},
        headers=budget_api.review,
    )
    assert banked.status_code == 422, banked.text
    with database.session() as session:
        assert session.scalars(select(BankEntry)).all() == []
        assert session.scalars(select(Content.content_id)).all() == ["big-jpeg"]


def test_with_the_memory_budget_taken_a_big_check_waits_then_503_and_small_ones_go_on(
    budget_api: Api,
) -> None:
    """150 of the 200 MiB held (as decodes in progress hold them): a 1,700 x 1,700 PNG
    (~60 MiB) waits its 3 s and gets 503 with Retry-After, while a small picture (~20 MiB)
    is answered at once, not queued behind it; once the memory is given back, it is hashed."""
    gate = budget_api.runtime.decodes
    held = 150 * 1024**2
    big_png, small_jpeg = _png(1700), _jpeg()
    assert gate.acquire(held, 0)
    try:
        started = time.perf_counter()
        busy = _media_check(budget_api, "big", big_png, budget_api.check)
        waited = time.perf_counter() - started
        assert busy.status_code == 503, busy.text  # type: ignore[attr-defined]
        assert busy.headers["retry-after"] == "2"  # type: ignore[attr-defined]
        assert "memory budget" in busy.json()["detail"]  # type: ignore[attr-defined]
        assert 2.5 < waited < 3 + 5, waited

        waiting: list[int] = []
        big = threading.Thread(
            target=lambda: waiting.append(
                _media_check(budget_api, "big", big_png, budget_api.check).status_code  # type: ignore[attr-defined]
            )
        )
        big.start()
        time.sleep(0.3)  # the big one is waiting for memory now
        started = time.perf_counter()
        small = _media_check(budget_api, "small", small_jpeg, budget_api.check)
        assert small.status_code == 200, small.text  # type: ignore[attr-defined]
        assert time.perf_counter() - started < 2.5 and not waiting  # not behind the big one
    finally:
        gate.release(held)
    big.join(30)
    assert waiting == [200]  # given the memory within its wait
    assert gate.reserved == 0
