"""Issue 18, the person's side: one case per form (reload, double submit), the secret shown
only on the filing device, typed answers kept across a language switch and a refusal, and a
status session that names its case by a random handle and refuses forged cookies."""

from __future__ import annotations

import base64
import json
import re

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from rescind.config import Settings
from rescind.store import Database
from rescind.store.models import Request
from rescind.web import create_app
from rescind.web.public.receipts import RECEIPT_COOKIE, RECEIPT_PATH
from rescind.web.public.status_routes import CASE_COOKIE
from rescind.web.sessions import Signer
from tests.web.public.support import csrf_of, shown_codes, stored_rows, tokens_of, valid_form


def _cases(database: Database) -> int:
    return stored_rows(database)["requests"]


def test_reload_and_double_submit_file_one_case(client: TestClient, database: Database) -> None:
    form = valid_form(tokens_of(client.get("/").text))
    first = client.post("/", data=form, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/received"
    shown = client.get("/received")
    codes = shown_codes(shown.text)
    assert codes and shown.template.name == "public/confirmation.html"  # type: ignore[attr-defined]
    # A reload of the confirmation shows the same case and secret on this device.
    assert shown_codes(client.get("/received").text) == codes
    # The form sent again (double submit, or Back then send) files nothing new.
    again = client.post("/", data=form)
    assert again.url.path == "/received" and shown_codes(again.text) == codes
    assert _cases(database) == 1
    # A language switch on the confirmation keeps the codes on the page.
    german = client.get("/received?lang=de")
    assert shown_codes(german.text) == codes
    # "Check my request" signs in with the codes on the page (nothing to type again).
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', german.text))
    assert fields["case_number"] == codes[0] and fields["secret"] == codes[1]
    status = client.post("/status", data=fields)
    assert status.template.name == "public/status.html"  # type: ignore[attr-defined]


def test_a_double_click_whose_first_answer_was_dropped_still_shows_the_secret(
    client: TestClient, database: Database
) -> None:
    form = valid_form(tokens_of(client.get("/").text))
    first = client.post("/", data=form, follow_redirects=False)
    assert first.status_code == 303
    # The browser cancelled the first navigation: its receipt cookie never arrived.
    client.cookies.delete(RECEIPT_COOKIE, path=RECEIPT_PATH)
    page = client.post("/", data=form)
    codes = shown_codes(page.text)
    assert codes and _cases(database) == 1
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert case.case_number == codes[0] and case.receipt_enc
        assert codes[1].encode() not in case.receipt_enc
    # Once the person says they saved it, nothing brings it back, and nothing stays at rest.
    client.post("/received/saved", data={"csrf_token": csrf_of(page.text)})
    again = client.post("/", data=form)
    assert 'id="already-shown"' in again.text and codes[1] not in again.text
    with database.session() as session:
        assert session.scalars(select(Request.receipt_enc)).one() is None


def test_a_replayed_form_token_alone_shows_nothing_of_the_case(
    settings: Settings, client: TestClient, database: Database
) -> None:
    tokens = tokens_of(client.get("/").text)
    number, secret = shown_codes(client.post("/", data=valid_form(tokens)).text) or ("", "")
    # Someone else who got hold of the form token, with their own browser and CSRF cookie.
    with TestClient(create_app(settings, database=database)) as other:
        theirs = {**tokens, "csrf_token": csrf_of(other.get("/").text)}
        page = other.post("/", data=valid_form(theirs))
    assert page.url.path == "/received" and 'id="already-shown"' in page.text
    assert number not in page.text and secret not in page.text
    assert _cases(database) == 1


def test_the_secret_is_forgotten_once_saved(client: TestClient) -> None:
    number, secret = shown_codes(
        client.post("/", data=valid_form(tokens_of(client.get("/").text))).text
    ) or ("", "")
    download = client.get("/received/secret.txt")
    assert download.headers["content-disposition"] == f'attachment; filename="{number}.txt"'
    assert secret in download.text and download.headers["cache-control"] == "no-store"
    page = client.post("/received/saved", data={"csrf_token": csrf_of(client.get("/").text)})
    assert 'id="already-shown"' in page.text and secret not in page.text
    assert client.get("/received/secret.txt").url.path == "/received"


def test_secret_groups_are_unbreakable_spans(client: TestClient) -> None:
    page = client.post("/", data=valid_form(tokens_of(client.get("/").text)))
    groups = page.context["secret_groups"]  # type: ignore[attr-defined]
    assert len(groups) == 4
    for group in groups:
        assert f'<span class="group">{group}</span>' in page.text


def test_a_language_switch_keeps_what_was_typed(client: TestClient, database: Database) -> None:
    form = valid_form(
        tokens_of(client.get("/?lang=en").text),
        supporting_info="Posted on 3 May, I never agreed.",
        minor="not_sure",
        switch_language="fr",
    )
    page = client.post("/?lang=fr", data=form)
    assert page.status_code == 200 and page.context["lang"] == "fr"  # type: ignore[attr-defined]
    values = page.context["values"]  # type: ignore[attr-defined]
    assert values["supporting_info"] == "Posted on 3 May, I never agreed."
    assert values["requester.email"] == "alex@example.org" and values["minor"] == "not_sure"
    assert page.context["errors"] == []  # type: ignore[attr-defined]
    assert 'value="alex@example.org"' in page.text and 'id="minor-not_sure" ' in page.text
    assert "Envoyer ma demande" in page.text
    assert _cases(database) == 0
    # The same form then files normally.
    del form["switch_language"]
    assert client.post("/?lang=fr", data=form).url.path == "/received"
    assert _cases(database) == 1


def test_a_refused_submission_keeps_what_was_typed(settings: Settings, database: Database) -> None:
    settings = settings.model_copy(update={"submissions_per_ip_per_hour": 1})
    with TestClient(create_app(settings, database=database)) as client:
        client.post("/", data=valid_form(tokens_of(client.get("/").text)))
        form = valid_form(tokens_of(client.get("/").text), supporting_info="Kept text.")
        page = client.post("/", data=form)
    assert page.status_code == 429
    assert page.context["values"]["supporting_info"] == "Kept text."  # type: ignore[attr-defined]
    assert "Your answers are kept below" in page.text
    assert _cases(database) == 1


def _sign_in(client: TestClient) -> tuple[str, str]:
    number, secret = shown_codes(
        client.post("/", data=valid_form(tokens_of(client.get("/").text))).text
    ) or ("", "")
    token = csrf_of(client.get("/status").text)
    page = client.post(
        "/status", data={"csrf_token": token, "case_number": number, "secret": secret}
    )
    assert page.status_code == 200
    return number, secret


def test_the_status_session_names_the_case_by_a_random_handle(
    client: TestClient, database: Database
) -> None:
    _sign_in(client)
    cookie = client.cookies[CASE_COOKIE]
    body = cookie.rpartition(".")[0]
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert payload["case"] == case.handle and len(case.handle) >= 40
        assert set(payload) == {"v", "case", "exp"}  # no row id anywhere


def test_forged_status_cookies_are_refused(
    settings: Settings, client: TestClient, database: Database
) -> None:
    _sign_in(client)
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        row_id, handle = case.id, case.handle
    ours = Signer(settings, "case-session")
    another_key = settings.model_copy(update={"secret_key": SecretStr("x" * 48)})
    theirs = Signer(another_key, "case-session")
    forged = {
        # The old format: a sequential row id, even correctly signed with this install's key.
        "old row-id format": ours.dumps({"rid": row_id}, 600),
        # The right format signed with any other key (say, the old built-in development key).
        "another key": theirs.dumps({"v": 2, "case": handle}, 600),
        "a guessed handle": ours.dumps({"v": 2, "case": "A" * 43}, 600),
    }
    for name, value in forged.items():
        client.cookies.clear()
        client.cookies.set(CASE_COOKIE, value, path="/status")
        page = client.get("/status")
        assert page.template.name == "public/status_lookup.html", name  # type: ignore[attr-defined]
        withdraw = client.post(
            "/status/withdraw", data={"csrf_token": csrf_of(page.text), "confirm": "yes"}
        )
        assert withdraw.status_code in (200, 401), name
        assert withdraw.template.name == "public/status_lookup.html", name  # type: ignore[attr-defined]
    with database.session() as session:
        assert session.scalars(select(Request.status)).one() == "received"
    # The control: the right format under this install's key is a session.
    client.cookies.clear()
    client.cookies.set(CASE_COOKIE, ours.dumps({"v": 2, "case": handle}, 600), path="/status")
    assert client.get("/status").template.name == "public/status.html"  # type: ignore[attr-defined]


def test_every_public_page_has_a_quick_exit_and_help(client: TestClient) -> None:
    for path in ("/", "/status", "/received", "/?lang=it"):
        page = client.get(path)
        assert 'id="quick-exit" href="https://www.bbc.com/weather"' in page.text, path
        assert 'href="https://stopncii.org/"' in page.text, path
    assert 'href="https://www.permessonegato.it/"' in client.get("/?lang=it").text
    assert 'href="https://hateaid.org/"' not in client.get("/?lang=it").text


def test_help_links_and_quick_exit_are_configurable(settings: Settings, database: Database) -> None:
    configured = settings.model_copy(
        update={
            "help_links": "*|Everyone|https://help.example/;fr|Seulement|https://fr.example/;"
            "en|Bad|javascript:alert(1);broken entry",
            "quick_exit_url": "https://news.example/",
        }
    )
    with TestClient(create_app(configured, database=database)) as client:
        english = client.get("/?lang=en").text
        french = client.get("/?lang=fr").text
    assert 'href="https://help.example/"' in english and "https://fr.example/" not in english
    assert 'href="https://fr.example/"' in french
    assert "javascript:" not in english and "stopncii" not in english
    assert 'data-url="https://news.example/"' in english
