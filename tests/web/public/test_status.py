"""The status page: case number + secret show the case in plain words; a wrong secret and an
unknown case get the same answer; information can be added and the request withdrawn."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from rescind.config import Settings
from rescind.store import Database
from rescind.store.models import Request
from rescind.web import create_app
from tests.web.public.support import csrf_of, file_request


def _lookup(client: TestClient, number: str, secret: str) -> tuple[int, str]:
    token = csrf_of(client.get("/status").text)
    page = client.post(
        "/status", data={"csrf_token": token, "case_number": number, "secret": secret}
    )
    return page.status_code, page.text


def test_status_history_add_information_and_withdraw(
    client: TestClient, database: Database
) -> None:
    number, secret = file_request(client)
    status, html = _lookup(client, number.lower(), secret)
    assert status == 200 and 'data-status="received"' in html
    assert "We received your request." in html
    token = csrf_of(html)
    page = client.post(
        "/status/info", data={"csrf_token": token, "information": "It is the 2nd post."}
    )
    assert page.status_code == 200 and "We added your information" in page.text
    assert "You added information." in page.text
    # The first press explains, in plain words, what withdrawing does; only confirming does it.
    page = client.post("/status/withdraw", data={"csrf_token": token})
    assert page.context["confirm_withdraw"] is True  # type: ignore[attr-defined]
    assert 'id="withdraw-confirm"' in page.text
    assert "Content we already removed stays removed." in page.text
    assert 'data-status="received"' in page.text
    page = client.post("/status/withdraw", data={"csrf_token": token, "confirm": "yes"})
    assert 'data-status="withdrawn"' in page.text and "You withdrew your request." in page.text
    with database.session() as session:
        assert session.scalars(select(Request.status)).one() == "withdrawn"


def test_wrong_secret_and_unknown_case_look_the_same(client: TestClient) -> None:
    number, secret = file_request(client)
    wrong = _lookup(client, number, "AAAAA-BBBBB-CCCCC-DDDDD")
    unknown = _lookup(client, "RSC-0000-0000-0000", secret)
    assert wrong[0] == unknown[0] == 404
    strip = lambda html: html.split('name="csrf_token"')[0]  # noqa: E731
    assert strip(wrong[1]) == strip(unknown[1])


def test_status_actions_need_the_case_session_and_csrf(
    client: TestClient, database: Database
) -> None:
    number, secret = file_request(client)
    token = csrf_of(client.get("/status").text)
    page = client.post("/status/withdraw", data={"csrf_token": token, "confirm": "yes"})
    assert page.status_code == 401  # not signed in to a case
    _lookup(client, number, secret)
    page = client.post("/status/withdraw", data={"csrf_token": "forged", "confirm": "yes"})
    assert page.status_code == 403
    with database.session() as session:
        assert session.scalars(select(Request.status)).one() == "received"


def test_lookups_are_rate_limited(settings: Settings, database: Database) -> None:
    settings = settings.model_copy(update={"status_lookups_per_ip_per_hour": 3})
    with TestClient(create_app(settings, database=database)) as client:
        codes = [_lookup(client, "RSC-0000-0000-0000", "x")[0] for _ in range(4)]
    assert codes == [404, 404, 404, 429]


def test_bad_information_is_refused_and_nothing_is_added(
    client: TestClient, database: Database
) -> None:
    number, secret = file_request(client)
    token = csrf_of(_lookup(client, number, secret)[1])
    for bad, message in (
        ("", "This is required."),
        ("x" * 10_001, "This is too long"),
        ("<script>alert(1)</script>", "without HTML"),
        ("see <a href=x>here</a>", "without HTML"),
    ):
        page = client.post("/status/info", data={"csrf_token": token, "information": bad})
        assert message in page.text
    client.post("/status/info", data={"csrf_token": "forged", "information": "fine text"})
    with database.session() as session:
        case = session.scalars(select(Request)).one()
        assert [e.kind for e in case.events] == ["received"]


def test_lookup_with_junk_is_just_not_found(client: TestClient) -> None:
    file_request(client)
    for number, secret in (
        ("' OR 1=1 --", "' OR 1=1 --"),
        ("x" * 5000, "y" * 5000),
        ("<script>alert(1)</script>", ""),
        ("", ""),
    ):
        status, html = _lookup(client, number, secret)
        assert status == 404 and "<script>alert(1)</script>" not in html
