"""End to end on two real `rescind serve` processes, each with its own database, on loopback:
a picture banked on A is matched for review on B after B's worker pulls A's signed feed; once
withdrawn on A, B allows it after the next pull; when B's reviewer dismisses a lead found
through A's entry, B's "not NCII" verdict reaches A by itself and shows there, once."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from rescind.config import Settings
from rescind.exchange.identity import load_identity
from rescind.exchange.partners import add_partner, grant_banks
from rescind.exchange.verdicts import JOB
from rescind.platform.apikeys import create_api_key
from rescind.platform.banks import ensure_default_banks
from rescind.platform.media_signals import media_limits, signals_from_media
from rescind.store import Database
from rescind.store.models import BankEntry, ExchangeLink, Job
from tests.e2e import media
from tests.e2e.servers import CLI, rescind_env, serve, stop

pytestmark = pytest.mark.slow


def _wait(what: str, ready: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def test_a_banked_picture_travels_and_its_withdrawal_too(
    db_url: str, second_db_url: str, tmp_path: Path
) -> None:
    a_data, b_data = tmp_path / "a", tmp_path / "b"
    a_settings = Settings(environment="test", data_dir=a_data, database_url=db_url)
    b_settings = Settings(
        environment="test", data_dir=b_data, database_url=second_db_url,
        exchange_allow_private=True,
    )  # fmt: skip
    a_db, b_db = Database(a_settings), Database(b_settings)
    with a_db.session() as session:
        ensure_default_banks(session, a_settings)
        _, a_review = create_api_key(session, "a-staff", frozenset({"review"}))
        _, for_b = create_api_key(session, "partner-b", frozenset({"exchange"}))
        grant_banks(session, "partner-b", ["ncii"])
    with b_db.session() as session:
        _, b_check = create_api_key(session, "b-uploads", frozenset({"check"}))
        _, b_intake = create_api_key(session, "b-intake", frozenset({"requests:write"}))
        _, b_staff = create_api_key(session, "b-staff", frozenset({"review", "requests:read"}))
    a_public = load_identity(a_settings).public_key  # what `rescind exchange identity` prints

    common = {"matcher_poll_s": "0.2", "exchange_pull_s": "1"}
    a_env = rescind_env(db_url, a_data, **common)
    b_env = rescind_env(second_db_url, b_data, exchange_allow_private="true", **common)
    a_proc, a_url = serve(a_env, tmp_path / "a.log")
    b_proc = None
    try:
        with b_db.session() as session:
            add_partner(session, b_settings, "a", a_url, api_key=for_b, public_key=a_public)
        b_proc, b_url = serve(b_env, tmp_path / "b.log")
        picture = media.jpeg(media.reported())

        # 1. A reviewer banks the picture on A.
        banked = httpx.post(
            f"{a_url}/v1/banks/ncii/entries",
            headers={"Authorization": f"Bearer {a_review}"},
            files={"media": ("p.jpg", picture, "image/jpeg")},
            timeout=60,
        )
        assert banked.status_code == 201, banked.text
        entry_ids = banked.json()["entry_ids"]

        checks = iter(range(10_000))

        reviewed: list[str] = []  # uploads B answered "review" (they matched A's entries)

        def verdict_on_b() -> str:
            content_id = f"upload-{next(checks)}"
            r = httpx.post(
                f"{b_url}/v1/check",
                headers={"Authorization": f"Bearer {b_check}"},
                data={"content_id": content_id},
                files={"media": ("u.jpg", picture, "image/jpeg")},
                timeout=60,
            )
            assert r.status_code == 200, r.text
            if r.json()["verdict"] == "review":
                reviewed.append(content_id)
            return str(r.json()["verdict"])

        # 2. B pulls A's feed: the same picture uploaded on B goes to review (not block).
        _wait("the match on B", lambda: verdict_on_b() == "review")

        # 3. Withdrawn on A: B allows it after its next pull.
        for entry_id in entry_ids:
            r = httpx.delete(
                f"{a_url}/v1/banks/ncii/entries/{entry_id}",
                headers={"Authorization": f"Bearer {a_review}"},
            )
            assert r.status_code == 204
        _wait("the withdrawal on B", lambda: verdict_on_b() == "allow")

        # 4. A person reports the picture on B by its hash; the removal finds B's uploads
        # (which matched A's entries) as leads; B's reviewer dismisses one: B's worker sends
        # "not NCII" to A by itself, and A shows it.
        value = signals_from_media(picture, media_limits(10 * 1024 * 1024)).pdq[0].hash
        filed = httpx.post(
            f"{b_url}/v1/requests",
            headers={"Authorization": f"Bearer {b_intake}"},
            json={
                "requester": {"name": "Alex Example", "email": "alex@example.org"},
                "signature": "Alex Example",
                "good_faith_statement": "I never consented.",
                "items": [{"pdq": [value], "description": "a picture of me"}],
            },
            timeout=60,
        )
        assert filed.status_code == 201, filed.text
        number = filed.json()["case_number"]
        staff = {"Authorization": f"Bearer {b_staff}"}
        decided = httpx.post(
            f"{b_url}/v1/requests/{number}/decision", json={"outcome": "remove"},
            headers=staff, timeout=60,
        )  # fmt: skip
        assert decided.status_code == 200, decided.text
        (lead, *_) = [le for le in decided.json()["leads"] if le["content_id"] in reviewed]
        dismissed = httpx.post(
            f"{b_url}/v1/requests/{number}/leads/{lead['id']}", json={"decision": "dismiss"},
            headers=staff, timeout=60,
        )  # fmt: skip
        assert dismissed.status_code == 200, dismissed.text

        def shown_on_a() -> list[dict[str, object]]:
            answer = httpx.get(
                f"{a_url}/v1/exchange/feedback", headers={"Authorization": f"Bearer {a_review}"}
            )
            assert answer.status_code == 200, answer.text
            found: list[dict[str, object]] = answer.json()
            return found

        def verdicts_sent() -> bool:
            with b_db.session() as session:
                states = set(session.scalars(select(Job.status).where(Job.kind == JOB)))
            return states == {"done"}

        _wait("B's verdict jobs", verdicts_sent)
        shown = shown_on_a()
        assert {(f["verdict"], f["partner"], f["bank"]) for f in shown} == {
            ("not_ncii", "partner-b", "ncii")
        }
        assert {f["entry_id"] for f in shown} <= set(entry_ids)
        # Sent again by hand (`rescind exchange feedback`): A keeps the verdict once.
        with b_db.session() as session:
            local = session.scalar(
                select(BankEntry.id).join(ExchangeLink, ExchangeLink.entry_id == BankEntry.id)
            )
        sent = subprocess.run(
            [sys.executable, "-c", CLI, "exchange", "feedback", str(local),
             "--verdict", "not_ncii"],
            env=b_env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        assert len(shown_on_a()) == len(shown)
        # No hash reached either server's log.
        logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
        with a_db.session() as session:
            values = list(session.scalars(select(BankEntry.value)))
        assert values and not any(v in logs for v in values)
    finally:
        if b_proc is not None:
            stop(b_proc)
        stop(a_proc)
        a_db.dispose()
        b_db.dispose()
