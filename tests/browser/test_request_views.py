"""A requester's picture, hashed in Chromium, is banked with its views by name.

A person picks a picture on the request form; the page posts its hash and its bank views
(orientations, trimmed borders, crops and tilts, each with its variant name and quality);
after a reviewer removes the case, the requester's entries are the ones
`POST /v1/banks/{name}/entries` makes from the same file (same variant names, cut or not),
and a tilted or cropped copy checked as a file through `/v1/check` meets the case, as it would
meet a reviewer-banked file. The picture is scikit-image's cat: never real imagery.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

import pytest
from PIL import Image
from playwright.sync_api import Page, Request, expect
from sqlalchemy import select

from rescind.client import RescindClient
from rescind.media import hamming_distance
from rescind.media.robust import BANK_VARIANT_NAMES
from rescind.platform.apikeys import create_api_key
from rescind.platform.media_signals import bank_signals_from_media, media_limits
from rescind.store.models import BankEntry
from rescind.store.models import Request as Case
from tests.browser.conftest import Live
from tests.e2e.media import jpeg, reported, unrelated
from tests.platform.helpers import gradient_png

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _fill(page: Page) -> None:
    page.get_by_label("Me", exact=True).check()
    page.get_by_label("No", exact=True).check()
    page.get_by_label("I have a good-faith belief").check()
    page.get_by_label("Your full name", exact=True).fill("Alex Example")
    page.get_by_label("Email address").fill("alex@example.org")
    page.get_by_label("Type your full name to sign").fill("Alex Example")


def _check_until(client: RescindClient, content_id: str, data: bytes, case: str) -> dict[str, Any]:
    """Check `data` until the matcher has read the new entries (it follows the feed)."""
    deadline = time.monotonic() + 30
    while True:
        answer: dict[str, Any] = client.check_media(content_id, data, filename="copy.jpg")
        if any(m.get("case_number") == case for m in answer["matches"]):
            return answer
        if time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def test_a_requesters_views_are_banked_by_name_and_meet_tilted_and_cropped_copies(
    page: Page, live: Live
) -> None:
    with live.database.session() as session:
        _, platform_key = create_api_key(session, "uploads", frozenset({"check", "content"}))
        _, staff_key = create_api_key(
            session, "trust-and-safety", frozenset({"requests:write", "requests:read", "review"})
        )
    base = reported()
    picture = jpeg(base)
    w, h = base.size
    tilted = jpeg(base.rotate(4, resample=Image.Resampling.BICUBIC))
    cropped = jpeg(base.crop((0, int(h * 0.12), w, h)))
    with (
        RescindClient(live.base_url, platform_key) as platform,
        RescindClient(live.base_url, staff_key) as staff,
    ):
        _remove_and_check(page, live, platform, staff, picture, tilted, cropped)


def _remove_and_check(
    page: Page,
    live: Live,
    platform: RescindClient,
    staff: RescindClient,
    picture: bytes,
    tilted: bytes,
    cropped: bytes,
) -> None:
    # The platform hosts the picture (so the requester's hashes lead somewhere).
    assert platform.check_media("u-cat", picture, filename="cat.jpg")["verdict"] == "allow"

    posts: list[Request] = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    page.goto(f"{live.base_url}/?lang=en")
    _fill(page)
    page.set_input_files(
        "#file-input", [{"name": "cat.jpg", "mimeType": "image/jpeg", "buffer": picture}]
    )
    expect(page.locator("#file-list .file-state")).to_contain_text("Ready", timeout=60_000)
    page.get_by_role("button", name="Send my request").click()
    expect(page).to_have_url(f"{live.base_url}/received")
    case_number = page.locator("#case-number").inner_text().strip()

    # The form carried the picture's own hash and its views, each by its variant name.
    fields = dict(parse_qsl((posts[0].post_data_buffer or b"").decode()))
    tokens = fields["items[0].views"].split(" ")
    names = [t.split(":")[0] for t in tokens]
    assert names[0] == "full" and fields["items[0].pdq"] == tokens[0].split(":")[2]
    assert len(set(names)) == len(names) and set(names) <= BANK_VARIANT_NAMES
    assert {"trimmed", "full/rot90", "crop_t12", "tilt+4"} & set(names)

    staff.decide(case_number, "remove", "confirmed")

    server = bank_signals_from_media(picture, media_limits(10**8))
    with live.database.session() as session:
        case = session.scalars(select(Case).where(Case.case_number == case_number)).one()
        entries = session.scalars(
            select(BankEntry).where(BankEntry.request_id == case.id, BankEntry.signal_type != "md5")
        ).all()
        mine = [e for e in entries if e.source == "requester" and e.signal_type != "sha256"]
        device = Counter((e.signal_type, (e.provenance or {}).get("variant")) for e in mine)
        quality = {(e.provenance or {}).get("variant"): e.quality for e in mine}
        values = {(e.provenance or {}).get("variant"): e.value for e in mine}
    # The same entries as banking the file: every variant name, cut or not, as the server's.
    expected = Counter(("pdq_cut" if s.cut else "pdq", s.variant) for s in server.pdq)
    assert device == expected, (device - expected, expected - device)
    for s in server.pdq:
        assert abs((quality[s.variant] or 0) - (s.quality or 0)) <= 5, s.variant
        assert hamming_distance(values[s.variant], s.hash) <= 8, s.variant

    # A tilted and a cropped copy, checked as files, meet the requester's entry; the plain
    # hash alone is too far from either (the views found them).
    plain = server.pdq[0].hash
    for name, copy in (("tilted", tilted), ("cropped", cropped)):
        answer = _check_until(platform, f"u-{name}", copy, case_number)
        assert [m["case_number"] for m in answer["matches"]] == [case_number], (name, answer)
        assert answer["verdict"] == "review"  # a requester's hash never blocks by itself
        copy_plain = bank_signals_from_media(copy, media_limits(10**8)).pdq[0].hash
        assert hamming_distance(copy_plain, plain) > 31, name
    other = platform.check_media("u-other", unrelated(1)[0], filename="other.jpg")
    assert other["matches"] == []


def test_a_requesters_gradient_is_banked_smooth(page: Page, live: Live) -> None:
    """A smooth picture (a gradient) picked on the form: the device says so (`items[0].smooth`
    = 1) beside its whole views only, and after a remove decision the requester's entries are
    the ones banking the file makes, each marked smooth (16 bits, never blocking)."""
    with live.database.session() as session:
        _, platform_key = create_api_key(session, "uploads", frozenset({"check", "content"}))
        _, staff_key = create_api_key(
            session, "trust-and-safety", frozenset({"requests:write", "requests:read", "review"})
        )
    picture = gradient_png()
    server = bank_signals_from_media(picture, media_limits(10**8))
    assert all(s.smooth for s in server.pdq)
    posts: list[Request] = []
    with (
        RescindClient(live.base_url, platform_key) as platform,
        RescindClient(live.base_url, staff_key) as staff,
    ):
        assert platform.check_media("u-sky", picture, filename="sky.png")["verdict"] == "allow"
        page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
        page.goto(f"{live.base_url}/?lang=en")
        _fill(page)
        page.set_input_files(
            "#file-input", [{"name": "sky.png", "mimeType": "image/png", "buffer": picture}]
        )
        expect(page.locator("#file-list .file-state")).to_contain_text("Ready", timeout=60_000)
        page.get_by_role("button", name="Send my request").click()
        expect(page).to_have_url(f"{live.base_url}/received")
        case_number = page.locator("#case-number").inner_text().strip()
        fields = dict(parse_qsl((posts[0].post_data_buffer or b"").decode()))
        assert fields["items[0].smooth"] == "1"
        names = {t.split(":")[0] for t in fields["items[0].views"].split(" ")}
        assert "full" in names and names <= {"full", "trimmed", "trimmed_jpeg"}
        staff.decide(case_number, "remove", "confirmed")
    with live.database.session() as session:
        case = session.scalars(select(Case).where(Case.case_number == case_number)).one()
        mine = session.scalars(
            select(BankEntry).where(
                BankEntry.request_id == case.id,
                BankEntry.source == "requester",
                BankEntry.signal_type.like("pdq%"),
            )
        ).all()
        device = {
            ((e.provenance or {}).get("variant"), bool((e.provenance or {}).get("smooth")))
            for e in mine
        }
    assert device == {(s.variant, True) for s in server.pdq}
