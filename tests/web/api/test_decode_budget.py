"""Decoding is bounded: a few media uploads are decoded at once and the others are told to
come back (503, Retry-After) without waiting long, while hash checks keep answering; an
upload over 1 MiB stays in memory instead of being spooled to the shared temp directory."""

from __future__ import annotations

import io
import tempfile
import threading
import time

import pytest
import skimage.data
from PIL import Image

from rescind.platform.apikeys import create_api_key
from rescind.store import Database
from tests.web.api.platform_fixtures import Api


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
