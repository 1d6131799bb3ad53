"""Console sign-ins are held by the server: a copied cookie is worth nothing after sign-out, a
password change, the account being disabled or the absolute lifetime; TOTP codes work once; the
enrolment secret never travels in a cookie."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rescind.cases.users import find_user, set_active, set_password
from rescind.config import Settings
from rescind.store import Database
from rescind.store.models import StaffSession
from rescind.web import create_app
from tests.web.console.conftest import sign_in, token_of

SignedIn = Callable[[str], TestClient]
COOKIE = "rescind_console"


def _copy(client: TestClient, app_factory: Callable[[], TestClient]) -> TestClient:
    """Another browser holding a copy of `client`'s sign-in cookie."""
    thief = app_factory()
    thief.cookies.set(COOKIE, client.cookies[COOKIE], path="/console")
    return thief


def _in(client: TestClient) -> bool:
    response = client.get("/console", follow_redirects=False)
    assert response.status_code in (200, 303)
    return response.status_code == 200


def test_the_cookie_is_a_random_id_only(signed_in: SignedIn) -> None:
    value = signed_in("rita").cookies[COOKIE]
    assert "." not in value and 40 <= len(value) <= 64
    assert b"rita" not in base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def test_a_copied_cookie_is_refused_after_sign_out(
    signed_in: SignedIn, app_factory: Callable[[], TestClient]
) -> None:
    rita = signed_in("rita")
    copy = _copy(rita, app_factory)
    assert _in(copy)
    token = token_of(rita.get("/console").text)
    assert rita.post("/console/logout", data={"csrf_token": token}).status_code == 200
    assert not _in(rita)
    assert not _in(copy)


def test_a_password_change_or_disabling_ends_every_copy(
    signed_in: SignedIn, app_factory: Callable[[], TestClient], database: Database
) -> None:
    rita, remy = signed_in("rita"), signed_in("remy")
    rita_copy, remy_copy = _copy(rita, app_factory), _copy(remy, app_factory)
    with database.session() as session:
        set_password(session, find_user(session, "rita"), "a brand new long password")
        set_active(session, find_user(session, "remy"), False)
    assert not _in(rita) and not _in(rita_copy)
    assert not _in(remy) and not _in(remy_copy)
    # Re-enabling remy does not bring the old sign-in back.
    with database.session() as session:
        set_active(session, find_user(session, "remy"), True)
    assert not _in(remy_copy)
    assert sign_in(app_factory(), "rita", "a brand new long password") == 303


def test_the_absolute_lifetime_is_not_renewed_by_activity(
    settings: Settings, database: Database, staff: dict[str, int]
) -> None:
    """A reviewer active all along (the account page used to renew the cookie) is still asked
    to sign in again once the lifetime is over."""
    short = settings.model_copy(update={"console_session_hours": 3 / 3600})
    app = create_app(short, database=database)
    with TestClient(app) as rita, TestClient(app) as copy:
        assert sign_in(rita, "rita") == 303
        copy.cookies.set(COOKIE, rita.cookies[COOKIE], path="/console")
        started = time.monotonic()
        while time.monotonic() - started < 2.5:
            assert rita.get("/console/account").status_code == 200
            time.sleep(0.5)
        time.sleep(max(0.0, 3.2 - (time.monotonic() - started)))
        assert not _in(rita)
        assert not _in(copy)
        assert sign_in(rita, "rita") == 303
    with database.session() as session:  # the ended sign-in was forgotten
        assert session.scalar(select(func.count()).select_from(StaffSession)) == 1


def test_an_idle_sign_in_ends(
    settings: Settings, database: Database, staff: dict[str, int]
) -> None:
    idle = settings.model_copy(update={"console_idle_minutes": 1.5 / 60})
    with TestClient(create_app(idle, database=database)) as rita:
        assert sign_in(rita, "rita") == 303
        for _ in range(4):  # active: a request every half second keeps it
            time.sleep(0.5)
            assert _in(rita)
        time.sleep(1.7)
        assert not _in(rita)


def _enrol(client: TestClient) -> tuple[str, float]:
    page = client.get("/console/account")
    secret = page.context["secret"]  # type: ignore[attr-defined]
    at = time.time()
    answer = client.post(
        "/console/account/totp",
        data={"csrf_token": token_of(page.text), "code": pyotp.TOTP(secret).at(at)},
    )
    assert answer.context["enabled"] is True  # type: ignore[attr-defined]
    return secret, at


def test_the_enrolment_secret_is_in_no_cookie(signed_in: SignedIn) -> None:
    rita = signed_in("rita")
    page = rita.get("/console/account")
    secret = page.context["secret"]  # type: ignore[attr-defined]
    assert secret in page.text  # shown to the person enrolling...
    set_cookies = page.headers.get_list("set-cookie")
    values = [*rita.cookies.values(), *set_cookies]
    for value in values:  # ...never in a cookie, plain or base64-encoded
        assert secret not in value
        for part in value.replace(";", ".").split("."):
            decoded = base64.urlsafe_b64decode(part.strip() + "=" * (-len(part.strip()) % 4))
            assert secret.encode() not in decoded
    # The same secret is offered again until confirmed (kept on the server).
    assert rita.get("/console/account").context["secret"] == secret  # type: ignore[attr-defined]


def test_a_totp_code_works_once(signed_in: SignedIn, app_factory: Callable[[], TestClient]) -> None:
    secret, at = _enrol(signed_in("rita"))
    code = pyotp.TOTP(secret).at(at + 30)
    with app_factory() as first, app_factory() as replay:
        assert sign_in(first, "rita", code=code) == 303
        # Someone who saw the code typed (or a second tab) cannot use it again.
        assert sign_in(replay, "rita", code=code) == 401
        # Nor an older one still inside the clock-drift window.
        assert sign_in(replay, "rita", code=pyotp.TOTP(secret).at(at)) == 401
