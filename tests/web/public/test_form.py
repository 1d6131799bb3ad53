"""The public request form: notice, languages, validation in the person's language, abuse
resistance; nothing is stored unless the request is valid and its CSRF token genuine."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from rescind.cases.validation import MAX_VIEWS_PER_ITEM
from rescind.config import Settings
from rescind.store import Database
from rescind.web import create_app
from tests.web.public.support import file_request, stored_rows, tokens_of, valid_form

NOTHING = {"requests": 0, "request_items": 0, "jobs": 0, "audit_events": 0}


def test_notice_and_form_in_the_browsers_language(client: TestClient) -> None:
    page = client.get("/", headers={"Accept-Language": "de-CH, fr;q=0.8, en;q=0.5"})
    assert page.status_code == 200
    assert page.template.name == "public/form.html"  # type: ignore[attr-defined]
    assert page.context["lang"] == "de"  # type: ignore[attr-defined]
    assert '<html lang="de">' in page.text and "48 Stunden" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and "style=" not in page.text
    # No third-party assets: every script, stylesheet and image comes from this origin.
    assets = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/static/") for a in assets)


def test_language_switcher_is_remembered(client: TestClient) -> None:
    page = client.get("/?lang=id")
    assert page.context["lang"] == "id" and "Kirim permintaan saya" in page.text  # type: ignore[attr-defined]
    assert client.get("/").context["lang"] == "id"  # type: ignore[attr-defined]


def test_valid_request_is_stored_before_the_confirmation(
    client: TestClient, database: Database
) -> None:
    number, secret = file_request(client)
    assert number.startswith("RSC-") and len(secret) == 23
    rows = stored_rows(database)
    assert rows["requests"] == 1 and rows["request_items"] == 1


def _check_rejected(
    client: TestClient, database: Database, changes: dict[str, str], field_id: str, text: str
) -> None:
    token = tokens_of(client.get("/?lang=fr").text)
    page = client.post("/", data=valid_form(token, **changes))
    assert page.status_code == 422
    errors = page.context["errors"]  # type: ignore[attr-defined]
    assert field_id in [e["id"] for e in errors], errors
    assert text in page.text
    assert stored_rows(database) == NOTHING


SCRIPT = "<script>alert(1)</script>"
A64, B64, C64 = "a" * 64, "b" * 64, "c" * 64
VIEWS = "vues de cette image"
SQL = "'; DROP TABLE requests; --"


@pytest.mark.parametrize(
    ("changes", "field_id", "text"),
    [
        ({"requester.representative": ""}, "requester-representative", "obligatoire"),
        ({"requester.representative": "boss"}, "requester-representative", "obligatoire"),
        ({"items[0].url": ""}, "items-0-url", "au moins une adresse web"),
        ({"items[0].url": "x" * 2100}, "items-0-url", "trop long"),
        ({"items[0].url": "javascript:alert(1)"}, "items-0-url", "https://"),
        ({"items[0].url": SQL}, "items-0-url", "https://"),
        ({"items[0].content_id": SCRIPT}, "items-0-content_id", "identifiant de contenu"),
        ({"items[0].content_id": SQL}, "items-0-content_id", "identifiant de contenu"),
        ({"items[0].content_id": "c" * 300}, "items-0-content_id", "trop long"),
        ({"items[0].pdq": "abc"}, "items-0-url", "64 caractères"),
        ({"items[0].pdq": " ".join(["a" * 64] * 44 + ["0" * 63])}, "items-0-url", "64 caract"),
        ({"items[0].pdq": " ".join(["a" * 64] * 129)}, "items-0-url", "128 au maximum"),
        ({"items[0].md5": "g" * 32}, "items-0-url", "32 caractères"),
        *(
            ({"items[0].pdq": A64, "items[0].views": f"full:90:{A64} {bad}"}, "items-0-url", VIEWS)
            for bad in (
                f"nonsense:90:{B64}",  # a variant the server never banks
                f"crop_c92:90:{B64[:-1]}z",  # not a hash
                f"crop_c92:101:{B64}",  # a quality past 100
                f"crop_c92:-1:{B64}",
                f"crop_c92:90:{B64} crop_c92:80:{C64}",  # one variant twice
                f"<script>:90:{B64}",
            )
        ),
        ({"items[0].pdq": B64, "items[0].views": f"full:90:{A64}"}, "items-0-url", VIEWS),
        # A smooth picture (a gradient) sends its whole views only, and sends them.
        ({"items[0].pdq": A64, "items[0].smooth": "1"}, "items-0-url", VIEWS),
        (
            {
                "items[0].pdq": A64,
                "items[0].views": f"full:90:{A64} full/rot90:90:{B64}",
                "items[0].smooth": "1",
            },
            "items-0-url",
            VIEWS,
        ),
        ({"items[0].views": f"crop_c92:90:{A64}"}, "items-0-url", VIEWS),
        (
            {
                "items[0].pdq": A64,
                "items[0].views": " ".join([f"full:90:{A64}"] * (MAX_VIEWS_PER_ITEM + 1)),
            },
            "items-0-url",
            f"{MAX_VIEWS_PER_ITEM} au maximum",
        ),
        ({"items[0].sha256": "a" * 65}, "items-0-url", "64 caractères"),
        ({"good_faith_statement": ""}, "good_faith_statement", "obligatoire"),
        ({"supporting_info": "x" * 10001}, "supporting_info", "trop long"),
        ({"supporting_info": SCRIPT}, "supporting_info", "sans HTML"),
        ({"requester.name": ""}, "requester-name", "obligatoire"),
        ({"requester.name": "n" * 201}, "requester-name", "trop long"),
        ({"requester.name": SCRIPT}, "requester-name", "sans HTML"),
        ({"requester.email": ""}, "requester-email", "obligatoire"),
        ({"requester.email": "alex@"}, "requester-email", "adresse e-mail valide"),
        ({"requester.email": "a@b.c\r\nBcc: x@y.z"}, "requester-email", "caractères"),
        ({"requester.email": SQL}, "requester-email", "adresse e-mail valide"),
        ({"requester.email": "e" * 250 + "@x.org"}, "requester-email", "trop long"),
        ({"requester.phone": "call me"}, "requester-phone", "téléphone"),
        ({"requester.phone": "1" * 40}, "requester-phone", "trop long"),
        ({"signature": ""}, "signature", "obligatoire"),
        ({"signature": "s" * 201}, "signature", "trop long"),
        ({"signature": "<img src=x onerror=alert(1)>"}, "signature", "sans HTML"),
        ({"signed_on": ""}, "signed_on", "obligatoire"),
        ({"signed_on": "yesterday"}, "signed_on", "année-mois-jour"),
        ({"signed_on": "1999-12-31"}, "signed_on", "date du jour"),
    ],
)
def test_bad_values_are_named_in_the_persons_language_and_nothing_is_stored(
    client: TestClient, database: Database, changes: dict[str, str], field_id: str, text: str
) -> None:
    _check_rejected(client, database, changes, field_id, text)


def test_odd_field_names_are_ignored(client: TestClient, database: Database) -> None:
    token = tokens_of(client.get("/").text)
    junk = {"items[abc].url": "x", "items[99999].url": "https://a.example/", "items[].pdq": "1"}
    page = client.post("/", data=valid_form(token, **junk))
    assert page.status_code == 422  # too many items (row 99999 counts as the 21st)
    assert stored_rows(database) == NOTHING


def test_sql_in_free_text_is_just_text(client: TestClient, database: Database) -> None:
    file_request(client, supporting_info=SQL, **{"requester.name": "O'Brien; DROP TABLE x"})
    assert stored_rows(database)["requests"] == 1


@pytest.mark.parametrize("token", ["", "forged-token", "A" * 43])
def test_missing_or_forged_csrf_token_stores_nothing(
    client: TestClient, database: Database, token: str
) -> None:
    client.get("/")
    page = client.post("/", data=valid_form(token))
    assert page.status_code == 403
    assert stored_rows(database) == NOTHING


def test_csrf_token_from_another_browser_is_refused(
    client: TestClient, settings: Settings, database: Database
) -> None:
    with TestClient(create_app(settings, database=database)) as other:
        foreign = tokens_of(other.get("/").text)
    client.get("/")
    assert client.post("/", data=valid_form(foreign)).status_code == 403
    assert stored_rows(database) == NOTHING


def test_honeypot_stores_nothing(client: TestClient, database: Database) -> None:
    token = tokens_of(client.get("/").text)
    page = client.post("/", data=valid_form(token, website="http://spam.example"))
    assert page.status_code == 400
    assert stored_rows(database) == NOTHING


def test_oversized_post_is_refused(client: TestClient, database: Database) -> None:
    token = tokens_of(client.get("/").text)
    page = client.post("/", data=valid_form(token, supporting_info="x" * 700_000))
    assert page.status_code == 413
    assert stored_rows(database) == NOTHING


def test_hashes_posted_with_the_form_are_kept(client: TestClient, database: Database) -> None:
    from sqlalchemy import select

    from rescind.store.models import RequestItem

    pdq = "a" * 64
    file_request(
        client,
        **{
            "items[0].pdq": f"{pdq.upper()},{'b' * 64}",
            "items[0].md5": "c" * 32,
            "items[0].sha256": "d" * 64,
            "items[0].url": "",
        },
    )
    with database.session() as session:
        item = session.scalars(select(RequestItem)).one()
        assert item.pdq == [pdq, "b" * 64] and item.md5 == "c" * 32 and item.url is None


def test_a_picture_and_its_bank_views_or_a_videos_frames_fit_one_item(
    client: TestClient, database: Database
) -> None:
    from sqlalchemy import select

    from rescind.cases.validation import MAX_PDQ_PER_ITEM
    from rescind.store.models import RequestItem

    picture = [f"{i:064x}" for i in range(45)]
    video = [f"{i:064x}" for i in range(100, 100 + MAX_PDQ_PER_ITEM)]
    file_request(
        client,
        **{"items[0].pdq": " ".join(picture), "items[1].pdq": " ".join(video)},
    )
    with database.session() as session:
        items = session.scalars(select(RequestItem).order_by(RequestItem.id)).all()
        assert [item.pdq for item in items] == [picture, video]


def test_twenty_pictures_with_every_bank_view_fit_one_post(
    client: TestClient, database: Database
) -> None:
    # The device posts each picture's views by name (up to one per BANK_VARIANT_NAMES, the
    # longest names ~18 characters): the most a form may carry stays under the size limit.
    from sqlalchemy import select

    from rescind.cases.validation import MAX_ITEMS
    from rescind.media.robust import BANK_VARIANT_NAMES
    from rescind.store.models import RequestItem

    names = sorted(BANK_VARIANT_NAMES - {"full"}, key=lambda n: (-len(n), n))
    fields = {}
    for i in range(MAX_ITEMS):
        own = f"{i:064x}"
        views = [f"full:90:{own}", *(f"{n}:100:{k + 1:064x}" for k, n in enumerate(names))]
        fields |= {f"items[{i}].pdq": own, f"items[{i}].views": " ".join(views)}
    file_request(client, **fields)
    with database.session() as session:
        items = session.scalars(select(RequestItem)).all()
        assert len(items) == MAX_ITEMS
        assert all(len(item.views or []) == len(BANK_VARIANT_NAMES) for item in items)


def test_a_pictures_views_are_kept_by_name(client: TestClient, database: Database) -> None:
    from sqlalchemy import select

    from rescind.store.models import RequestItem

    views = f"full:71:{A64} full/rot90:40:{B64}\ncrop_c92:88:{C64}"
    file_request(client, **{"items[0].pdq": A64, "items[0].views": views, "items[0].url": ""})
    with database.session() as session:
        item = session.scalars(select(RequestItem)).one()
        assert item.pdq == [A64]
        assert item.views == [
            {"variant": "full", "quality": 71, "hash": A64},
            {"variant": "full/rot90", "quality": 40, "hash": B64},
            {"variant": "crop_c92", "quality": 88, "hash": C64},
        ]


def test_submissions_are_rate_limited_per_address(settings: Settings, database: Database) -> None:
    settings = settings.model_copy(update={"submissions_per_ip_per_hour": 2})
    with TestClient(create_app(settings, database=database)) as client:
        file_request(client)
        file_request(client)
        token = tokens_of(client.get("/").text)
        assert client.post("/", data=valid_form(token)).status_code == 429
    assert stored_rows(database)["requests"] == 2


def test_mistakes_do_not_lock_a_person_out(settings: Settings, database: Database) -> None:
    settings = settings.model_copy(update={"submissions_per_ip_per_hour": 1})
    with TestClient(create_app(settings, database=database)) as client:
        token = tokens_of(client.get("/").text)
        for _ in range(5):
            assert client.post("/", data=valid_form(token, signature="")).status_code == 422
        file_request(client)
        # ...but hammering is stopped (ten attempts per allowed request).
        codes = [
            client.post("/", data=valid_form(token, signature="")).status_code for _ in range(5)
        ]
        assert codes[-1] == 429


def test_confirmation_claims_an_email_only_when_email_is_configured(
    settings: Settings, database: Database
) -> None:
    for smtp_host, claimed in ((None, False), ("127.0.0.1", True)):
        configured = settings.model_copy(update={"smtp_host": smtp_host})
        with TestClient(create_app(configured, database=database)) as client:
            token = tokens_of(client.get("/").text)
            form_page = client.get("/?lang=en").text
            page = client.post("/", data=valid_form(token))
            french = client.get("/?lang=fr").text
        assert ("We sent a confirmation" in page.text) is claimed
        # The request page promises emails only when they go out, in every language.
        assert ("We email you when we receive" in form_page) is claimed
        assert ('id="no-email"' in form_page) is not claimed
        assert ("Nous n'envoyons pas d'e-mails" in french.replace("&#39;", "'")) is not claimed


def test_the_file_area_is_hidden_without_javascript_and_posts_no_file(
    client: TestClient,
) -> None:
    page = client.get("/?lang=en").text
    area = re.search(r'<section class="device-files" id="device-files" hidden[^>]*>', page)
    assert area and 'data-max-pdq="128"' in area.group(0)
    assert "<noscript>" in page and "needs JavaScript, which is turned off" in page
    file_input = re.search(r'<input type="file"[^>]*>', page)
    assert file_input and " name=" not in file_input.group(0)
    assert '<script type="module" src="/static/public.js"></script>' in page
    assert client.get("/static/request-files.js").status_code == 200


def test_hashes_sent_back_after_an_error_are_shown_as_attached(client: TestClient) -> None:
    token = tokens_of(client.get("/?lang=en").text)
    form = valid_form(token, **{"items[1].md5": "c" * 32, "signature": ""})
    page = client.post("/?lang=en", data=form)
    assert page.status_code == 422
    assert page.text.count("The fingerprints of a file you chose are attached") == 1
    assert 'value="' + "c" * 32 + '"' in page.text


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "I agree that the fingerprints"), ("fr", "empreintes de ces images soient partagées"),
     ("de", "Ich bin einverstanden")],
)  # fmt: skip
def test_sharing_with_stopncii_is_an_unticked_choice_in_plain_words(
    client: TestClient, database: Database, lang: str, words: str
) -> None:
    from sqlalchemy import select

    from rescind.store.models import Request

    page = client.get(f"/?lang={lang}")
    box = re.search(r'<input type="checkbox" id="share-consent"[^>]*>', page.text)
    assert box is not None and "checked" not in box.group(0) and words in page.text
    file_request(client)
    file_request(client, share_consent="yes")
    with database.session() as session:
        consents = list(session.scalars(select(Request.share_consent).order_by(Request.id)))
    assert consents == [False, True]


@pytest.mark.parametrize("index", ["9" * 5000, "٣", "00000000000000000000000000001"])
def test_an_absurd_item_index_is_ignored_not_a_server_error(
    client: TestClient, database: Database, index: str
) -> None:
    """A field name `items[N].url` with thousands of digits (over Python's int limit) or
    non-ASCII digits names no row of the form: the rows shown stay within the form's bounds."""
    token = tokens_of(client.get("/").text)
    form = valid_form(token, **{"items[0].url": ""})
    form[f"items[{index}].url"] = "https://example.com/x"
    page = client.post("/", data=form)
    assert page.status_code == 422, page.text[:300]
    assert stored_rows(database) == NOTHING


def test_a_smooth_pictures_views_say_so(client: TestClient, database: Database) -> None:
    """The device's `smooth` flag (a gradient) is kept with each view: the item's hashes are
    banked as smooth after a remove decision (tests/platform/test_enforce.py)."""
    from sqlalchemy import select

    from rescind.store.models import RequestItem

    views = f"full:100:{A64} trimmed:100:{B64}"
    file_request(
        client,
        **{"items[0].pdq": A64, "items[0].views": views, "items[0].smooth": "1"},
    )
    with database.session() as session:
        item = session.scalars(select(RequestItem)).one()
        assert item.views == [
            {"variant": "full", "quality": 100, "hash": A64, "smooth": True},
            {"variant": "trimmed", "quality": 100, "hash": B64, "smooth": True},
        ]
