"""Sign-in limits nobody can turn into a lock-out: wrong passwords sent from many addresses slow
the account down, but the real reviewer still signs in from a browser they used before, or with
their TOTP code; limits per address and per (account, address) stop one address hammering; the
public form's global bucket cannot be drained by one address."""

from __future__ import annotations

import time

import pyotp
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rescind.config import Settings
from rescind.store import Database
from rescind.web import create_app
from tests.web.console.conftest import PASSWORD, token_of
from tests.web.public.support import file_request, stored_rows, tokens_of, valid_form

PROXY = ("127.0.0.1", 4000)


class Browser:
    """One browser behind the trusted proxy, at `address`."""

    def __init__(self, client: TestClient, address: str) -> None:
        self.client = client
        self.address = address

    def sign_in(self, username: str, password: str = PASSWORD, code: str = "") -> tuple[int, str]:
        headers = {"X-Forwarded-For": self.address}
        token = token_of(self.client.get("/console/login", headers=headers).text)
        answer = self.client.post(
            "/console/login",
            data={"csrf_token": token, "username": username, "password": password, "code": code},
            headers=headers,
            follow_redirects=False,
        )
        return answer.status_code, answer.text


def _app(settings: Settings, database: Database, **changes: object) -> FastAPI:
    """The app behind a trusted proxy on loopback (tests name each browser's address)."""
    return create_app(
        settings.model_copy(update={"trusted_proxies": "127.0.0.1", **changes}), database=database
    )


def _browser(app: FastAPI, address: str) -> Browser:
    return Browser(TestClient(app, client=PROXY), address)


def _attack(app: FastAPI, username: str, addresses: int) -> list[tuple[int, str]]:
    """One wrong password from each of `addresses` fresh browsers and addresses."""
    return [
        _browser(app, f"198.51.100.{i}").sign_in(username, "wrong password!!")
        for i in range(1, addresses + 1)
    ]


def test_wrong_passwords_from_many_addresses_do_not_lock_out_a_known_browser(
    settings: Settings, database: Database, staff: dict[str, int]
) -> None:
    app = _app(settings, database)
    rita = _browser(app, "203.0.113.5")
    assert rita.sign_in("rita")[0] == 303  # her browser, on an earlier day
    answers = _attack(app, "rita", 16)
    codes = [status for status, _ in answers]
    # The first five are checked; then the account slows down for unknown browsers: a wait of
    # 1 s, doubling after each further failure (1+2+4+8 s before a fifth more guess).
    assert codes[:5] == [401] * 5
    assert codes[5:].count(401) <= 4 and codes[5:].count(429) >= 7
    assert all("Try again in" in page for status, page in answers if status == 429)
    # Rita, in her own browser, from a new address (a train's wifi): straight in.
    rita.address = "192.0.2.77"
    assert rita.sign_in("rita")[0] == 303
    # Her success ended the slow-down: a mistake is again just a mistake.
    assert _browser(app, "192.0.2.78").sign_in("rita", "typo password!!")[0] == 401


def test_a_reviewer_with_totp_signs_in_from_a_new_browser_during_an_attack(
    settings: Settings, database: Database, staff: dict[str, int]
) -> None:
    app = _app(settings, database)
    rita = _browser(app, "203.0.113.5")
    assert rita.sign_in("rita")[0] == 303
    page = rita.client.get("/console/account")
    secret = page.context["secret"]  # type: ignore[attr-defined]
    enrolled = time.time()
    rita.client.post(
        "/console/account/totp",
        data={"csrf_token": token_of(page.text), "code": pyotp.TOTP(secret).at(enrolled)},
    )
    _attack(app, "rita", 12)
    new_laptop = _browser(app, "192.0.2.10")
    # While slowed, a right password alone is not told apart from a wrong one...
    status, text = new_laptop.sign_in("rita")
    assert status == 401 and "Wrong username, password or code." in text
    # ...and a right password with a current code gets in.
    assert new_laptop.sign_in("rita", code=pyotp.TOTP(secret).at(enrolled + 30))[0] == 303


def test_the_slow_down_is_a_wait_not_a_lock(
    settings: Settings, database: Database, staff: dict[str, int]
) -> None:
    """Without TOTP or a known browser, the reviewer waits (at most the configured cap) and gets
    in; nothing an attacker does makes the wait longer than the cap."""
    app = _app(settings, database, login_backoff_max_seconds=1.0)
    _attack(app, "rita", 20)
    fresh = _browser(app, "192.0.2.10")
    time.sleep(1.1)
    assert fresh.sign_in("rita")[0] == 303


def test_one_address_hammering_one_account_is_stopped_without_stopping_others(
    settings: Settings, database: Database, staff: dict[str, int]
) -> None:
    # No account slow-down here: only the per-(account, address) budget is at work.
    app = _app(settings, database, login_backoff_after=1000)
    attacker = _browser(app, "198.51.100.1")
    codes = [attacker.sign_in("rita", "wrong password!!")[0] for _ in range(11)]
    assert codes == [401] * 10 + [429]
    # The same address may still sign in to another account (an office behind one NAT)...
    assert _browser(app, "198.51.100.1").sign_in("remy")[0] == 303
    # ...and rita, elsewhere, is not affected.
    assert _browser(app, "192.0.2.10").sign_in("rita")[0] == 303


def test_one_address_cannot_drain_the_global_submission_bucket(
    settings: Settings, database: Database
) -> None:
    """Each address gets at most a tenth of the global bucket, whatever its own limit says."""
    app = _app(settings, database, submissions_per_ip_per_hour=50, submissions_global_per_hour=20)
    with TestClient(app, client=PROXY, headers={"X-Forwarded-For": "198.51.100.1"}) as greedy:
        file_request(greedy)
        file_request(greedy)
        page = greedy.post("/", data=valid_form(tokens_of(greedy.get("/").text)))
        assert page.status_code == 429
    with TestClient(app, client=PROXY, headers={"X-Forwarded-For": "192.0.2.1"}) as person:
        file_request(person)
    assert stored_rows(database)["requests"] == 3


def test_a_known_browser_is_not_held_back_by_others_at_its_address(
    settings: Settings, database: Database, staff: dict[str, int]
) -> None:
    """An office behind one address: someone there using up the address's attempts does not
    stop a reviewer whose browser signed in before."""
    app = _app(settings, database, logins_per_ip_per_hour=3)
    rita = _browser(app, "192.0.2.50")
    assert rita.sign_in("rita")[0] == 303  # at home, yesterday
    rita.address = "203.0.113.5"
    colleague = _browser(app, "203.0.113.5")
    codes = [colleague.sign_in("remy", "wrong password!!")[0] for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert _browser(app, "203.0.113.5").sign_in("remy")[0] == 429  # the address is spent
    assert rita.sign_in("rita")[0] == 303
