"""The reviewer console: sign-in (argon2, TOTP, rate limit), queue by deadline, case page with
audited views, claims that do not collide, decisions, the audit log and its export."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from rescind.cases.intake import submit_request
from rescind.config import Settings
from rescind.store import Database
from rescind.store.models import AuditEvent, Decision
from rescind.web import create_app
from tests.cases.support import valid_input
from tests.web.console.conftest import PASSWORD, sign_in, token_of

SignedIn = Callable[[str], TestClient]


def _actions(database: Database) -> list[str]:
    with database.session() as session:
        return [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_console_needs_a_session(app_factory: Callable[[], TestClient]) -> None:
    with app_factory() as client:
        response = client.get("/console", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/console/login"


def test_sign_in_sets_a_strict_httponly_cookie_and_is_audited(
    app_factory: Callable[[], TestClient], staff: dict[str, int], database: Database
) -> None:
    with app_factory() as client:
        assert sign_in(client, "rita", "wrong password!!") == 401
        assert sign_in(client, "nobody", PASSWORD) == 401
        token = token_of(client.get("/console/login").text)
        response = client.post(
            "/console/login",
            follow_redirects=False,
            data={"csrf_token": token, "username": "rita", "password": PASSWORD},
        )
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
        assert client.get("/console").template.name == "console/queue.html"  # type: ignore[attr-defined]
    assert _actions(database)[-3:] == ["login.failure", "login.failure", "login.success"]


def test_sign_in_is_rate_limited(
    settings: Settings, database: Database, staff: dict[str, int]
) -> None:
    settings = settings.model_copy(update={"logins_per_ip_per_hour": 3})
    with TestClient(create_app(settings, database=database)) as client:
        codes = [sign_in(client, "rita", "wrong password!!") for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_totp_enrolment_then_required_at_sign_in(
    signed_in: SignedIn, app_factory: Callable[[], TestClient]
) -> None:
    client = signed_in("rita")
    page = client.get("/console/account")
    secret = page.context["secret"]  # type: ignore[attr-defined]
    bad = client.post(
        "/console/account/totp", data={"csrf_token": token_of(page.text), "code": "000000"}
    )
    assert bad.status_code == 422
    enrolled_at = time.time()
    good = client.post(
        "/console/account/totp",
        data={"csrf_token": token_of(page.text), "code": pyotp.TOTP(secret).at(enrolled_at)},
    )
    assert good.context["enabled"] is True  # type: ignore[attr-defined]
    with app_factory() as fresh:
        assert sign_in(fresh, "rita") == 401
        # The code that confirmed enrolment is used up; the next one works.
        assert sign_in(fresh, "rita", code=pyotp.TOTP(secret).at(enrolled_at)) == 401
        assert sign_in(fresh, "rita", code=pyotp.TOTP(secret).at(enrolled_at + 30)) == 303


def test_queue_is_ordered_by_deadline_with_overdue_shown(
    signed_in: SignedIn, settings: Settings, database: Database
) -> None:
    with database.session() as session:
        later = submit_request(session, settings, valid_input()).case_number
        sooner = submit_request(session, settings, valid_input(channel="regulator")).case_number
        late_case = submit_request(session, settings, valid_input(language="fr")).request
        late_case.deadline_at = late_case.received_at - timedelta(hours=1)
        late = late_case.case_number
    page = signed_in("rita").get("/console")
    order = [row["case"].case_number for row in page.context["rows"]]  # type: ignore[attr-defined]
    assert order == [late, sooner, later]
    assert page.context["rows"][0]["clock"].overdue  # type: ignore[attr-defined]
    assert "overdue by" in page.text and "Overdue" in page.text
    filtered = signed_in("remy").get("/console?language=fr")
    assert [r["case"].case_number for r in filtered.context["rows"]] == [late]  # type: ignore[attr-defined]


def test_case_views_are_audited_and_contact_only_for_reviewers(
    signed_in: SignedIn, case_number: str, database: Database
) -> None:
    rita = signed_in("rita")
    page = rita.get(f"/console/cases/{case_number}")
    assert page.context["contact"] is None and "alex@example.org" not in page.text  # type: ignore[attr-defined]
    page = rita.get(f"/console/cases/{case_number}?contact=1")
    assert "alex@example.org" in page.text
    auditor = signed_in("aude")
    page = auditor.get(f"/console/cases/{case_number}?contact=1")
    assert "alex@example.org" not in page.text and not page.context["can_decide"]  # type: ignore[attr-defined]
    actions = _actions(database)
    assert actions.count("request.view") == 3 and actions.count("request.contact_view") == 1


def test_two_reviewers_do_not_collide(signed_in: SignedIn, case_number: str) -> None:
    rita, remy = signed_in("rita"), signed_in("remy")
    rita_page = rita.get(f"/console/cases/{case_number}")
    remy_page = remy.get(f"/console/cases/{case_number}")
    rita.post(
        f"/console/cases/{case_number}/claim",
        data={"csrf_token": token_of(rita_page.text), "expected_assignee": ""},
    )
    stale = remy.post(
        f"/console/cases/{case_number}/claim",
        data={"csrf_token": token_of(remy_page.text), "expected_assignee": ""},
    )
    assert stale.context["error"] == "conflict"  # type: ignore[attr-defined]
    assert "rita" in stale.text
    decided = remy.post(
        f"/console/cases/{case_number}/decision",
        data={"csrf_token": token_of(remy_page.text), "outcome": "remove"},
    )
    assert decided.context["error"] == "conflict"  # type: ignore[attr-defined]


def test_decisions_from_the_console(
    signed_in: SignedIn, case_number: str, database: Database, staff: dict[str, int]
) -> None:
    rita = signed_in("rita")
    token = token_of(rita.get(f"/console/cases/{case_number}").text)
    path = f"/console/cases/{case_number}/decision"
    page = rita.post(path, data={"csrf_token": token, "outcome": "reject"})
    assert page.context["error"] == "invalid"  # type: ignore[attr-defined]
    page = rita.post(
        path, data={"csrf_token": token, "outcome": "need_info", "message": "Which post?"}
    )
    assert page.context["case"].status == "need_info"  # type: ignore[attr-defined]
    assert "the clock keeps running" in page.text
    page = rita.post(path, data={"csrf_token": "forged", "outcome": "remove"})
    assert page.context["error"] == "expired"  # type: ignore[attr-defined]
    page = rita.post(path, data={"csrf_token": token, "outcome": "remove", "note": "valid"})
    assert page.context["case"].status == "removal_pending"  # type: ignore[attr-defined]
    with database.session() as session:
        decisions = list(session.scalars(select(Decision).order_by(Decision.id)))
        assert [(d.outcome, d.reviewer_id, d.automated) for d in decisions] == [
            ("need_info", staff["rita"], False),
            ("remove", staff["rita"], False),
        ]
    auditor = signed_in("aude")
    page = auditor.post(
        path,
        data={
            "csrf_token": token_of(auditor.get("/console").text),
            "outcome": "reject",
            "reason_code": "other",
        },
    )
    assert page.context["error"] == "not_allowed"  # type: ignore[attr-defined]


def test_audit_log_and_export_are_for_admins_and_auditors(
    signed_in: SignedIn, case_number: str, database: Database, staff: dict[str, int]
) -> None:
    assert signed_in("rita").get("/console/audit").status_code == 403
    auditor = signed_in("aude")
    page = auditor.get("/console/audit")
    # A page view shows the last recorded verification, it does not re-read the whole chain.
    assert page.context["verified"] is None and "not been verified yet" in page.text  # type: ignore[attr-defined]
    refused = auditor.post("/console/audit/verify", data={"csrf_token": token_of(page.text)})
    assert refused.status_code == 403
    admin = signed_in("ada")
    page = admin.get("/console/audit")
    admin.post("/console/audit/verify", data={"csrf_token": token_of(page.text)})
    page = auditor.get("/console/audit")
    verified = page.context["verified"]  # type: ignore[attr-defined]
    assert verified.actor == f"user:{staff['ada']}" and verified.detail["ok"] is True
    assert "the chain of" in page.text and "is intact" in page.text
    export = auditor.get("/console/audit.csv")
    assert export.headers["content-type"].startswith("text/csv")
    assert "request.create" in export.text and "alex@example.org" not in export.text
    assert _actions(database)[-1] == "audit.export"


def test_repeat_requests_from_one_email_are_linked(
    signed_in: SignedIn, settings: Settings, database: Database
) -> None:
    with database.session() as session:
        first = submit_request(session, settings, valid_input()).case_number
        second = submit_request(
            session, settings, valid_input(email="ALEX@Example.org")
        ).case_number
        other = submit_request(session, settings, valid_input(email="sam@example.org"))
        assert other.request.requester_digest not in (None, "")
    page = signed_in("aude").get(f"/console/cases/{second}")
    related = page.context["related"]  # type: ignore[attr-defined]
    assert [r.case_number for r in related] == [first]
    assert "alex@example.org" not in page.text


def test_find_a_case_by_its_number_and_my_cases_filter(
    signed_in: SignedIn, case_number: str
) -> None:
    rita = signed_in("rita")
    typed = case_number.lower().replace("-", " ")
    found = rita.get(f"/console/find?case={typed}", follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"].endswith(case_number)
    assert rita.get("/console/find?case=RSC-0000-0000-0000").status_code == 404
    assert rita.get("/console?mine=1").context["rows"] == []  # type: ignore[attr-defined]
    page = rita.get(f"/console/cases/{case_number}")
    rita.post(
        f"/console/cases/{case_number}/claim",
        data={"csrf_token": token_of(page.text), "expected_assignee": ""},
    )
    mine = rita.get("/console?mine=1").context["rows"]  # type: ignore[attr-defined]
    assert [r["case"].case_number for r in mine] == [case_number]


def test_a_disabled_user_is_signed_out_at_once(
    signed_in: SignedIn, database: Database, staff: dict[str, int]
) -> None:
    from rescind.cases.users import find_user, set_active

    rita = signed_in("rita")
    assert rita.get("/console").status_code == 200
    with database.session() as session:
        set_active(session, find_user(session, "rita"), False)
    response = rita.get("/console", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/console/login"


def test_a_password_change_ends_older_sessions(
    signed_in: SignedIn, database: Database, staff: dict[str, int]
) -> None:
    from rescind.cases.users import find_user, set_password

    rita = signed_in("rita")
    with database.session() as session:
        set_password(session, find_user(session, "rita"), "a brand new long password")
    assert rita.get("/console", follow_redirects=False).status_code == 303
