"""Reviewer essentials: internal notes, assigning a colleague, searching the queue."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from rescind.cases.intake import submit_request
from rescind.cases.reasons import CANNED_REPLIES
from rescind.cases.validation import ItemInput
from rescind.config import Settings
from rescind.locale import LANGUAGES, translations
from rescind.store import Database
from rescind.store.models import AuditEvent, CaseNote
from rescind.web import create_app
from tests.cases.support import valid_input
from tests.web.console.conftest import sign_in, token_of

SignedIn = Callable[[str], TestClient]


def _audit(database: Database, action: str) -> list[AuditEvent]:
    with database.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_internal_notes_show_author_and_time_to_staff_only(
    signed_in: SignedIn,
    case_number: str,
    database: Database,
    staff: dict[str, int],
    app_factory: Callable[[], TestClient],
) -> None:
    rita = signed_in("rita")
    token = token_of(rita.get(f"/console/cases/{case_number}").text)
    path = f"/console/cases/{case_number}/notes"
    empty = rita.post(path, data={"csrf_token": token, "body": "   "})
    assert empty.context["error"] == "invalid"  # type: ignore[attr-defined]
    page = rita.post(path, data={"csrf_token": token, "body": "Same uploader as last week."})
    assert page.context["done"] == "noted"  # type: ignore[attr-defined]
    # A colleague, and an auditor, read it with its author and time.
    for who in ("remy", "aude"):
        text = signed_in(who).get(f"/console/cases/{case_number}").text
        assert "Same uploader as last week." in text and 'class="note-author">rita<' in text
    # An auditor reads notes but does not write them.
    aude = signed_in("aude")
    refused = aude.post(path, data={"csrf_token": token_of(aude.get("/console").text), "body": "x"})
    assert refused.context["error"] == "not_allowed"  # type: ignore[attr-defined]
    with database.session() as session:
        notes = list(session.scalars(select(CaseNote)))
    assert [(n.author_id, n.body) for n in notes] == [
        (staff["rita"], "Same uploader as last week.")
    ]
    [event] = _audit(database, "request.note")
    assert event.actor == f"user:{staff['rita']}" and "uploader" not in str(event.detail)
    # The requester's status page never shows it.
    with app_factory() as public:
        assert "Same uploader" not in public.get("/status").text


def test_assign_a_case_to_a_colleague(
    signed_in: SignedIn, case_number: str, database: Database, staff: dict[str, int]
) -> None:
    rita, remy = signed_in("rita"), signed_in("remy")
    page = rita.get(f"/console/cases/{case_number}")
    choices = [u.username for u in page.context["colleagues"]]  # type: ignore[attr-defined]
    assert choices == ["ada", "remy"]  # active reviewers and admins, not the auditor, not me
    path = f"/console/cases/{case_number}/assign"
    stale_token = token_of(remy.get(f"/console/cases/{case_number}").text)
    done = rita.post(
        path,
        data={
            "csrf_token": token_of(page.text),
            "assignee": str(staff["remy"]),
            "expected_assignee": "",
        },
    )
    assert done.context["done"] == "assigned"  # type: ignore[attr-defined]
    assert 'id="assignee">remy<' in done.text
    # Someone acting on the old assignment loses, and is told who has it.
    stale = remy.post(
        path,
        data={"csrf_token": stale_token, "assignee": str(staff["ada"]), "expected_assignee": ""},
    )
    assert stale.context["error"] == "conflict"  # type: ignore[attr-defined]
    # Not to an auditor.
    bad = rita.post(
        path,
        data={
            "csrf_token": token_of(page.text),
            "assignee": str(staff["aude"]),
            "expected_assignee": str(staff["remy"]),
        },
    )
    assert bad.context["error"] == "invalid"  # type: ignore[attr-defined]
    [event] = _audit(database, "request.assign")
    assert event.actor == f"user:{staff['rita']}"
    assert event.detail == {"previous_assignee_id": None, "assignee_id": staff["remy"]}
    mine = remy.get("/console?mine=1").context["rows"]  # type: ignore[attr-defined]
    assert [r["case"].case_number for r in mine] == [case_number]


def test_search_the_queue_by_number_url_content_id_and_email(
    signed_in: SignedIn, settings: Settings, database: Database
) -> None:
    with database.session() as session:
        mine = submit_request(
            session,
            settings,
            valid_input(
                email="Sam.Doe@example.org",
                items=[ItemInput(url="https://platform.example/p/4711_x", content_id="vid-4711")],
            ),
        )
        other = submit_request(session, settings, valid_input(email="kim@example.org"))
        numbers = (mine.case_number, other.case_number)

    rita = signed_in("rita")

    def found(q: str) -> list[str]:
        page = rita.get("/console", params={"q": q})
        return [r["case"].case_number for r in page.context["rows"]]  # type: ignore[attr-defined]

    assert found(numbers[0].lower().replace("-", " ")) == [numbers[0]]
    assert found(" sam.doe@EXAMPLE.org ") == [numbers[0]]
    assert found("nobody@example.org") == []
    assert found("vid-4711") == [numbers[0]]
    assert found("https://platform.example/p/4711_x") == [numbers[0]]
    assert found("p/4711_") == [numbers[0]]  # part of an address; `_` is no wildcard
    assert found("p/4711%") == []
    assert set(found("platform.example/p/")) == set(numbers)
    page = rita.get("/console", params={"q": "sam.doe@example.org"})
    assert "sam.doe" not in page.text.replace('value="sam.doe@example.org"', "")
    # The typed address is neither logged in the audit chain nor stored.
    with database.session() as session:
        assert not any(
            "sam.doe" in str(e.detail).lower() for e in session.scalars(select(AuditEvent))
        )


def test_a_case_that_may_concern_a_minor_stands_out_to_reviewers(
    signed_in: SignedIn, settings: Settings, database: Database
) -> None:
    with database.session() as session:
        adult = submit_request(session, settings, valid_input(minor="no")).case_number
        flagged = submit_request(session, settings, valid_input(minor="yes")).case_number
    rita = signed_in("rita")
    queue_page = rita.get("/console")
    rows = queue_page.context["rows"]  # type: ignore[attr-defined]
    assert [r["case"].case_number for r in rows] == [flagged, adult]
    assert queue_page.text.count('class="case-row child-safety"') == 1
    assert queue_page.text.count("Under 18?") == 1
    page = rita.get(f"/console/cases/{flagged}")
    assert 'id="child-safety"' in page.text
    assert "Possible child sexual abuse material" in page.text and "(answer: yes)" in page.text
    assert 'id="child-safety"' not in rita.get(f"/console/cases/{adult}").text


def test_the_console_says_when_email_is_off(
    settings: Settings, database: Database, staff: dict[str, int]
) -> None:
    for smtp_host, off in ((None, True), ("127.0.0.1", False)):
        configured = settings.model_copy(update={"smtp_host": smtp_host})
        with TestClient(create_app(configured, database=database)) as client:
            assert 'id="email-off"' not in client.get("/console/login").text
            assert sign_in(client, "rita") == 303
            for path in ("/console", "/console/account"):
                page = client.get(path).text
                assert ('id="email-off"' in page) is off
                assert ("no emails go to requesters or reviewers" in page) is off


def _status_page(client: TestClient, number: str, secret: str) -> str:
    token = token_of(client.get("/status").text)
    page = client.post(
        "/status", data={"csrf_token": token, "case_number": number, "secret": secret}
    )
    assert page.status_code == 200
    return page.text.replace("&#39;", "'")


def test_a_canned_reply_reaches_the_person_in_their_language(
    signed_in: SignedIn,
    settings: Settings,
    database: Database,
    app_factory: Callable[[], TestClient],
) -> None:
    reply = CANNED_REPLIES["need_location"].text
    rita = signed_in("rita")
    for language in LANGUAGES:
        with database.session() as session:
            filed = submit_request(session, settings, valid_input(language=language))
        number, secret = filed.case_number, filed.secret
        assert secret
        token = token_of(rita.get(f"/console/cases/{number}").text)
        page = rita.post(
            f"/console/cases/{number}/decision",
            data={
                "csrf_token": token,
                "outcome": "need_info",
                "reply": "need_location",
                "message": "The second link opens a profile.",
            },
        )
        assert page.context["case"].status == "need_info"  # type: ignore[attr-defined]
        with app_factory() as public:
            # The person's browser asks for their language, as when they filed.
            public.headers["accept-language"] = language
            text = _status_page(public, number, secret)
        expected = translations(language).gettext(reply)
        assert expected in text and 'id="team-reply"' in text
        assert (expected == reply) is (language == "en")
        assert "The second link opens a profile." in text


def test_a_reply_must_fit_the_decision(signed_in: SignedIn, case_number: str) -> None:
    rita = signed_in("rita")
    token = token_of(rita.get(f"/console/cases/{case_number}").text)
    path = f"/console/cases/{case_number}/decision"
    wrong = rita.post(
        path,
        data={"csrf_token": token, "outcome": "need_info", "reply": "reject_duplicate"},
    )
    assert wrong.context["error"] == "invalid"  # type: ignore[attr-defined]
    assert "need_location" in wrong.context["error_detail"]  # type: ignore[attr-defined]
    # A canned reply alone is enough for a rejection with reason "other".
    done = rita.post(
        path,
        data={
            "csrf_token": token,
            "outcome": "reject",
            "reason_code": "other",
            "reply": "reject_not_intimate",
        },
    )
    assert done.context["case"].status == "rejected"  # type: ignore[attr-defined]
    assert "<td>reject_not_intimate</td>" in done.text


def test_ids_that_are_not_plain_numbers_are_refused_clearly(
    signed_in: SignedIn, case_number: str, staff: dict[str, int]
) -> None:
    rita = signed_in("rita")
    page = rita.get(f"/console/cases/{case_number}")
    path = f"/console/cases/{case_number}/assign"
    # Unicode digits pass str.isdigit() but not int(); a number past 64 bits fits no row id.
    for bad in ("²", "١٢", "9" * 30, "-1", " 3"):
        refused = rita.post(
            path,
            data={"csrf_token": token_of(page.text), "assignee": bad, "expected_assignee": ""},
        )
        assert refused.status_code == 200, bad
        assert refused.context["error"] == "invalid"  # type: ignore[attr-defined]
        claimed = rita.post(
            f"/console/cases/{case_number}/claim",
            data={"csrf_token": token_of(page.text), "expected_assignee": bad},
        )
        assert claimed.status_code == 200, bad
