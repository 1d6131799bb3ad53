"""The request form's file area in Chromium: a person chooses a picture and a video, the page
hashes them on the device, and every request the page makes from opening to the confirmation
is recorded: none carries the files' bytes or their pixels, the posted form carries only
hashes, and the case's items hold exactly those hashes.

The media are generated (scikit-image's cat, a synthetic clip): never real imagery.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pytest
import skimage.data
from PIL import Image
from playwright.sync_api import Browser, Page, Request, expect
from sqlalchemy import select

from rescind.cases.validation import MAX_PDQ_PER_ITEM, MAX_VIEWS_PER_ITEM
from rescind.media import hamming_distance, hash_file
from rescind.store.models import Request as Case
from tests.browser.conftest import Live
from tests.e2e.media import jpeg, reported
from tests.media.conftest import encode, moving_frames, write_video

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HEX64 = re.compile(r"^[0-9a-f]{64}$")
WINDOW = 24  # bytes: a window of a file or of its pixels found in a request would be a leak


def _fill(page: Page, *, url: str | None = None) -> None:
    page.get_by_label("Me", exact=True).check()
    page.get_by_label("No", exact=True).check()
    if url:
        page.get_by_label("Item 1: web address").fill(url)
    page.get_by_label("I have a good-faith belief").check()
    page.get_by_label("Your full name", exact=True).fill("Alex Example")
    page.get_by_label("Email address").fill("alex@example.org")
    page.get_by_label("Type your full name to sign").fill("Alex Example")


def _windows(data: bytes, count: int = 64) -> list[bytes]:
    """Windows spread over `data` (skipping headers every JPEG or MP4 shares)."""
    start = min(len(data) // 4, 1024)
    step = max(1, (len(data) - start - WINDOW) // count)
    return [data[i : i + WINDOW] for i in range(start, len(data) - WINDOW, step)][:count]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("media")
    clip = write_video(root / "clip.mp4", moving_frames(5, 10, (320, 240)), 10, gop=10)
    return {"cat.jpg": jpeg(reported()), "clip.mp4": clip.read_bytes()}


def _choose(page: Page, files: dict[str, bytes]) -> None:
    mime = {"jpg": "image/jpeg", "mp4": "video/mp4"}
    page.set_input_files(
        "#file-input",
        [
            {"name": name, "mimeType": mime[name.rsplit(".", 1)[1]], "buffer": data}
            for name, data in files.items()
        ],
    )


def test_nothing_but_hashes_leaves_the_page(
    page: Page, live: Live, media: dict[str, bytes], tmp_path: Path
) -> None:
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    page.goto(f"{live.base_url}/?lang=en")
    _fill(page)
    _choose(page, media)
    states = page.locator("#file-list .file-state")
    expect(states).to_have_count(2)
    expect(states.nth(0)).to_contain_text("Ready", timeout=60_000)
    expect(states.nth(1)).to_contain_text("Ready", timeout=60_000)
    # Thumbnails were drawn here (canvases, no object URL left behind).
    sizes = page.locator("#file-list canvas").evaluate_all("cs => cs.map(c => c.width)")
    assert len(sizes) == 2 and min(sizes) > 1
    page.get_by_role("button", name="Send my request").click()
    expect(page).to_have_url(f"{live.base_url}/received")
    case_number = page.locator("#case-number").inner_text().strip()

    pixels = np.asarray(Image.open(io.BytesIO(media["cat.jpg"])).convert("RGB")).tobytes()
    leaks = [w for data in (*media.values(), pixels) for w in _windows(data)]
    origin = urlsplit(live.base_url).netloc
    posts = []
    for request in requests:
        parts = urlsplit(request.url)
        assert parts.scheme in ("http", "blob", "data"), request.url
        if parts.scheme == "http":
            assert parts.netloc == origin, request.url  # nothing goes anywhere else
        assert len(request.url) < 2048, request.url
        body = request.post_data_buffer or b""
        assert not any(w in body or w in request.url.encode() for w in leaks), request.url
        if request.method != "GET":
            posts.append((request, body))
    # One POST, the form, far smaller than either file, and nothing in it but fields and hashes.
    assert [(r.method, urlsplit(r.url).path) for r, _ in posts] == [("POST", "/")]
    body = posts[0][1]
    assert len(body) < min(len(d) for d in media.values()) // 2, len(body)
    fields = parse_qsl(body.decode(), keep_blank_values=True)
    assert not [k for k, _ in fields if "file" in k.lower()]
    posted: dict[int, dict[str, str]] = {}
    for key, value in fields:
        match = re.fullmatch(r"items\[(\d+)\]\.(\w+)", key)
        if match and value:
            posted.setdefault(int(match.group(1)), {})[match.group(2)] = value
    # The cat first, then the clip: each item carries only its hashes (the cat's views too).
    assert [sorted(v) for v in posted.values()] == [
        ["md5", "pdq", "sha256", "views"],
        ["md5", "pdq", "sha256"],
    ]
    cat, clip = (posted[i] for i in sorted(posted))
    for item, name in ((cat, "cat.jpg"), (clip, "clip.mp4")):
        assert item["md5"] == hashlib.md5(media[name]).hexdigest()
        assert item["sha256"] == hashlib.sha256(media[name]).hexdigest()
        assert all(HEX64.match(h) for h in item["pdq"].split(" "))
    cat_pdq, clip_pdq = cat["pdq"].split(" "), clip["pdq"].split(" ")
    assert len(cat_pdq) == 1  # the picture's hash; its bank views go by name
    views = cat["views"].split(" ")
    assert 20 <= len(views) <= MAX_VIEWS_PER_ITEM
    assert all(re.fullmatch(r"[a-z0-9_+\-/]+:[0-9]{1,3}:[0-9a-f]{64}", v) for v in views)
    assert 3 <= len(clip_pdq) <= 6  # one hash per distinct second of a 5 s clip
    (tmp_path / "cat.jpg").write_bytes(media["cat.jpg"])
    server = hash_file(tmp_path / "cat.jpg")
    assert hamming_distance(cat_pdq[0], server["pdq"][0]["hash"]) <= 4

    # The case holds exactly the hashes posted, as leads for the lifecycle to review.
    with live.database.session() as session:
        case = session.scalars(select(Case).where(Case.case_number == case_number)).one()
        items = [(i.url, i.pdq, i.md5, i.sha256) for i in case.items]
        stored_views = [
            f"{v['variant']}:{v['quality']}:{v['hash']}" for v in case.items[0].views or []
        ]
    assert items == [
        (None, cat_pdq, cat["md5"], cat["sha256"]),
        (None, clip_pdq, clip["md5"], clip["sha256"]),
    ]
    assert stored_views == views


def test_a_file_can_be_removed_and_hashing_cancelled(
    page: Page, live: Live, media: dict[str, bytes], tmp_path: Path
) -> None:
    page.goto(f"{live.base_url}/?lang=en")
    _fill(page, url="https://platform.example/p/1")
    _choose(page, {"cat.jpg": media["cat.jpg"]})
    expect(page.locator("#file-list .file-state")).to_contain_text("Ready", timeout=60_000)
    page.get_by_role("button", name="Remove cat.jpg").click()
    expect(page.locator("#file-list li")).to_have_count(0)
    expect(page.locator("#hash-status")).to_have_text("cat.jpg removed. Nothing was sent.")

    # A longer clip: cancel while it is being hashed.
    # Long enough that hashing is still under way when the button is pressed, even with
    # WebCodecs on an idle machine (180 sampled seconds).
    long_clip = write_video(tmp_path / "long.mp4", moving_frames(180, 1, (320, 240)), 1, gop=5)
    _choose(page, {"long.mp4": long_clip.read_bytes()})
    expect(page.locator("#hash-progress")).to_be_visible()
    expect(page.locator("#hash-bar")).to_have_accessible_name(re.compile("long.mp4"))
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#file-list li")).to_have_count(0)
    expect(page.locator("#hash-progress")).to_be_hidden()
    expect(page.locator("#hash-status")).to_have_text("Cancelled. Nothing was sent.")

    page.get_by_role("button", name="Send my request").click()
    expect(page).to_have_url(f"{live.base_url}/received")
    case_number = page.locator("#case-number").inner_text().strip()
    with live.database.session() as session:
        case = session.scalars(select(Case).where(Case.case_number == case_number)).one()
        assert [(i.url, i.pdq, i.md5) for i in case.items] == [
            ("https://platform.example/p/1", None, None)
        ]


def test_the_file_area_fits_a_phone_and_is_reached_by_keyboard(
    page: Page, live: Live, media: dict[str, bytes]
) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live.base_url}/?lang=fr")
    area = page.locator("#device-files")
    expect(area).to_be_visible()
    expect(area).to_contain_text("ne quittent jamais cet appareil")
    expect(page.get_by_label("Choisir des fichiers")).to_be_visible()
    _choose(page, {("x" * 80) + ".jpg": media["cat.jpg"]})
    expect(page.locator("#file-list .file-state")).to_contain_text("Prêt", timeout=60_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    remove = page.get_by_role("button", name=re.compile("^Retirer x+"))
    remove.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#file-list li")).to_have_count(0)
    expect(page.locator("#file-input")).to_be_focused()


def test_without_javascript_the_form_sends_addresses_and_says_why_no_files(
    browser: Browser, live: Live
) -> None:
    context = browser.new_context(locale="en-US", java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live.base_url}/?lang=en")
        expect(page.locator("#device-files")).to_be_hidden()
        # <noscript> renders only when scripts are off: its text is what a person reads.
        assert "needs JavaScript, which is turned off" in page.locator("#items").inner_text()
        _fill(page, url="https://platform.example/p/nojs")
        page.get_by_role("button", name="Send my request").click()
        expect(page).to_have_url(f"{live.base_url}/received")
    finally:
        context.close()


def test_hashes_survive_a_language_switch_and_sending_waits_for_hashing(
    page: Page, live: Live, media: dict[str, bytes], tmp_path: Path
) -> None:
    page.goto(f"{live.base_url}/?lang=en")
    _fill(page, url="https://platform.example/p/2")
    _choose(page, {"cat.jpg": media["cat.jpg"]})
    expect(page.locator("#file-list .file-state")).to_contain_text("Ready", timeout=60_000)
    page.locator("button[name=switch_language][value=fr]").click()
    expect(page.locator(".attached")).to_have_text(
        "Les empreintes d'un fichier que vous avez choisi sont jointes à cet élément."
    )
    # Sending while a file is being hashed waits (the person is told, nothing is posted).
    # Long enough that hashing is still under way when the button is pressed, even with
    # WebCodecs on an idle machine (180 sampled seconds).
    long_clip = write_video(tmp_path / "long.mp4", moving_frames(180, 1, (320, 240)), 1, gop=5)
    _choose(page, {"long.mp4": long_clip.read_bytes()})
    expect(page.locator("#hash-progress")).to_be_visible()
    page.get_by_role("button", name="Envoyer ma demande").click()
    expect(page.locator("#hash-status")).to_have_text(
        "Veuillez attendre que les empreintes soient prêtes, ou annulez."
    )
    expect(page.locator("#hash-cancel")).to_be_focused()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Envoyer ma demande").click()
    expect(page).to_have_url(f"{live.base_url}/received")
    case_number = page.locator("#case-number").inner_text().strip()
    with live.database.session() as session:
        case = session.scalars(select(Case).where(Case.case_number == case_number)).one()
        items = [(i.url, bool(i.pdq), i.md5) for i in case.items]
    assert items == [
        ("https://platform.example/p/2", False, None),
        (None, True, hashlib.md5(media["cat.jpg"]).hexdigest()),
    ]


def test_which_hashes_an_item_carries(page: Page, live: Live) -> None:
    page.goto(f"{live.base_url}/?lang=en")
    got = page.evaluate(
        """async ([max, maxViews]) => {
          const { itemHashes, itemViews, itemSmooth } = await import("/static/request-files.js");
          const h = (i, quality, variant) => ({
            hash: i.toString(16).padStart(64, "0"), quality, variant });
          const picture = { kind: "image", pdq: [h(1, 20)],
            views: [h(2, 90, "full/rot90"), h(3, 10, "crop_c92"), h(2, 90, "full/rot90"),
                    h(0, 0, "tilt+6"), h(4, 60, "trimmed")] };
          const many = { kind: "image", pdq: [h(1, 80)],
            views: Array.from({ length: maxViews + 50 }, (_, i) => h(i + 2, 80, `v${i}`)) };
          const frames = Array.from({ length: 300 }, (_, i) => h(i + 1, 80));
          return {
            picture: itemHashes(picture, max),
            views: itemViews(picture, maxViews),
            many: itemViews(many, maxViews).length,
            video: itemHashes({ kind: "video", pdq: frames }, max),
            videoViews: itemViews({ kind: "video", pdq: frames, views: [] }, maxViews),
            dark: itemHashes({ kind: "video", pdq: [h(7, 5), h(8, 0)] }, max),
            smooth: [
              itemSmooth({ ...picture, smooth: true }, itemViews(picture, maxViews)),
              itemSmooth({ ...picture, smooth: false }, itemViews(picture, maxViews)),
              itemSmooth(picture, itemViews(picture, maxViews)),
              itemSmooth({ ...picture, smooth: true }, []),
              itemSmooth({ kind: "video", pdq: frames, views: [], smooth: true }, []),
            ],
          };
        }""",
        [MAX_PDQ_PER_ITEM, MAX_VIEWS_PER_ITEM],
    )
    # The picture's own hash even when weak; its views by name, each name once, as the
    # server's rule banks them (weak and empty ones too: the server decides what to keep).
    assert got["picture"] == [f"{1:064x}"]
    assert got["views"] == [
        f"full:20:{1:064x}",
        f"full/rot90:90:{2:064x}",
        f"crop_c92:10:{3:064x}",
        f"tilt+6:0:{0:064x}",
        f"trimmed:60:{4:064x}",
    ]
    assert got["many"] == MAX_VIEWS_PER_ITEM and got["videoViews"] == []
    # A long video's frames spread evenly over the limit, from its first second.
    assert len(got["video"]) == MAX_PDQ_PER_ITEM and len(set(got["video"])) == MAX_PDQ_PER_ITEM
    assert got["video"][0] == f"{1:064x}" and got["video"][-1] >= f"{290:064x}"
    # All frames weak: kept (a reviewer sees them as leads), the empty hash never.
    assert got["dark"] == [f"{7:064x}", f"{8:064x}"]
    # A smooth picture (a gradient) says so beside its views; nothing else does.
    assert got["smooth"] == ["1", "", "", "", ""]


ENGLISH_HEIC = "This device cannot make fingerprints of HEIC pictures"


@pytest.mark.parametrize("lang", ["en", "fr", "it", "id", "es", "de"])
def test_a_heic_picture_this_browser_cannot_decode_is_named_with_what_to_do(
    page: Page, live: Live, lang: str
) -> None:
    """Chromium decodes no HEIC (the format iPhones take photos in): the page says so in the
    person's language and tells them to export the picture as JPEG; nothing is sent."""
    heic = encode(Image.fromarray(skimage.data.chelsea()), "HEIF", quality=80)
    page.goto(f"{live.base_url}/?lang={lang}")
    decodes = page.evaluate(
        """async (bytes) => {
          try {
            (await createImageBitmap(new Blob([new Uint8Array(bytes)]))).close();
            return true;
          } catch { return false; }
        }""",
        list(heic),
    )
    page.set_input_files(
        "#file-input", [{"name": "photo.heic", "mimeType": "image/heic", "buffer": heic}]
    )
    state = page.locator("#file-list .file-state")
    if decodes:  # a browser that decodes HEIC hashes it like any picture
        expect(state).to_contain_text(re.compile(r"\d"), timeout=60_000)
        return
    message = page.locator("#device-files").get_attribute("data-msg-heic") or ""
    assert "HEIC" in message and "JPEG" in message
    assert (message.startswith(ENGLISH_HEIC)) == (lang == "en")
    expect(state).to_have_text(message, timeout=60_000)
    expect(page.locator("#hash-status")).to_have_text(f"photo.heic: {message}")
    expect(page.locator("#file-list li.failed")).to_have_count(1)
