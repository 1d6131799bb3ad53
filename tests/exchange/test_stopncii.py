"""StopNCII.org, against a local stand-in server speaking its API (the real one is not reachable
here): withdrawals by case, VideoTMK kept as unsupported, bad pages refused whole with the
checkpoint unmoved, our consented cases shared, our verdicts sent back."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from datetime import timedelta

import pytest
import skimage.data
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import func, select
from threatexchange.exchanges.impl import stop_ncii_api
from typer.testing import CliRunner

from rescind.cases import review
from rescind.cases.enforcement import RemovalEnforcer, withdraw_hashes
from rescind.cases.intake import submit_request
from rescind.cases.requester import withdraw
from rescind.cases.users import create_user
from rescind.cli import app as cli
from rescind.config import Settings
from rescind.exchange import stopncii
from rescind.jobs.runner import Worker
from rescind.platform.check import judge
from rescind.platform.matcher import Matcher
from rescind.platform.media_signals import media_limits, signals_from_media
from rescind.platform.runtime import PlatformRuntime
from rescind.platform.signals import Signals
from rescind.services import build_job_registry
from rescind.store import Database
from rescind.store.models import (
    AuditEvent,
    BankEntry,
    ExchangeSource,
    Request,
    RequestItem,
    StopNCIIHash,
)
from tests.cases.support import valid_input
from tests.e2e import media
from tests.exchange.stopncii_standin import (
    FUNCTION_KEYS,
    SUBSCRIPTION_KEY,
    Misbehaviour,
    StandIn,
    running,
)

LIMITS = media_limits(10 * 1024 * 1024)


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with running() as server:
        yield server


def _configured(settings: Settings, url: str) -> Settings:
    return settings.model_copy(
        update={
            "stopncii_url": url,
            "stopncii_key": SecretStr(SUBSCRIPTION_KEY),
            "stopncii_fetch_key": SecretStr(FUNCTION_KEYS["FetchHashes"]),
            "stopncii_submit_key": SecretStr(FUNCTION_KEYS["SubmitHashes"]),
            "stopncii_feedback_key": SecretStr(FUNCTION_KEYS["SubmitFeedback"]),
            "exchange_allow_private": True,  # the stand-in is on loopback
            "exchange_timeout_s": 1.0,
        }
    )


@pytest.fixture
def on(settings: Settings, standin: StandIn) -> Settings:
    return _configured(settings, standin.url)


def _picture() -> Signals:
    """The signals a check of a synthetic picture (scikit-image's astronaut) carries."""
    return signals_from_media(media.jpeg(Image.fromarray(skimage.data.astronaut())), LIMITS)


def _verdict(database: Database, settings: Settings, signals: Signals) -> str:
    matcher = Matcher(settings)
    with database.session() as session:
        matcher.sync(session)
    return judge(matcher.match(signals))[0]


def _pull(database: Database, settings: Settings) -> stopncii.PullResult:
    return stopncii.pull(database.engine, settings)


def _state(database: Database) -> tuple[int, int, str | None]:
    """The checkpoint, the active entries of the stopncii bank, and the last error."""
    with database.session() as session:
        state = session.scalars(select(ExchangeSource)).one()
        active = session.scalar(
            select(func.count())
            .select_from(BankEntry)
            .where(BankEntry.bank_id == state.bank_id, BankEntry.status == "active")
        )
        return state.checkpoint, int(active or 0), state.last_error


@pytest.mark.parametrize("gone", ["Withdrawn", "Deleted"])
def test_a_withdrawn_case_removes_the_hash(
    database: Database, on: Settings, standin: StandIn, gone: str
) -> None:
    picture = _picture()
    standin.add_case("case-1", picture.pdq[0].hash)
    assert _verdict(database, on, picture) == "allow"
    result = _pull(database, on)
    assert (result.error, result.pages, result.added) == (None, 1, 1)
    # A StopNCII hash sends a matching upload to review: it never blocks by itself.
    assert _verdict(database, on, picture) == "review"

    standin.set_case("case-1", gone)
    result = _pull(database, on)
    assert (result.error, result.withdrawn) == (None, 1)
    assert _verdict(database, on, picture) == "allow"
    with database.session() as session:
        row = session.scalars(select(StopNCIIHash)).one()
        assert (row.status, list(row.cases.values())) == ("withdrawn", [gone])
        assert "case-1" not in str(row.cases)  # case ids are kept as keyed digests
        pulled = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "stopncii.pulled")
        ).all()
    assert [e.detail["added"] for e in pulled if e.detail] == [1, 0]
    assert [e.detail["withdrawn"] for e in pulled if e.detail] == [0, 1]


def test_a_hash_shared_by_two_cases_stays_until_both_are_withdrawn(
    database: Database, on: Settings, standin: StandIn
) -> None:
    picture = _picture()
    standin.add_case("case-a", picture.pdq[0].hash)
    standin.add_case("case-b", picture.pdq[0].hash)
    _pull(database, on)
    assert _verdict(database, on, picture) == "review"
    standin.set_case("case-a", "Withdrawn")
    assert _pull(database, on).error is None
    assert _verdict(database, on, picture) == "review"  # case-b still stands
    standin.set_case("case-b", "Deleted")
    assert _pull(database, on).withdrawn == 1
    assert _verdict(database, on, picture) == "allow"
    # Registered again by someone: banked anew.
    standin.add_case("case-c", picture.pdq[0].hash)
    assert _pull(database, on).added == 1
    assert _verdict(database, on, picture) == "review"


def test_threatexchange_mapping_keeps_a_withdrawn_hash_ours_removes_it(standin: StandIn) -> None:
    """Regression note: python-threatexchange 1.2.17 compares `record.hashValue` with the
    Withdrawn/Deleted statuses, so a withdrawn hash stays in HMA banks; our mapping removes it."""
    value = secrets.token_hex(32)
    standin.add_case("case-1", value)
    standin.set_case("case-1", "Withdrawn")
    page = stopncii.parse_page(json.dumps(standin.page(0, 10, "")).encode())
    (record,) = page.records
    _key, metadata = stop_ncii_api._get_delta_mapping(record)
    assert metadata is not None  # threatexchange: still there, still matching
    assert stopncii.is_withdrawn(record)  # ours: withdrawn


def test_video_tmk_is_kept_as_unsupported_and_shown(
    database: Database, on: Settings, standin: StandIn, settings: Settings
) -> None:
    tmk = secrets.token_urlsafe(3000)  # TMK hashes are large; any text is kept as it is
    md5 = secrets.token_hex(16)
    standin.add_case("case-v", tmk, signal_type="VideoTMK")
    standin.add_case("case-v", md5, signal_type="VideoMD5")
    result = _pull(database, on)
    assert (result.error, result.added, result.unsupported) == (None, 1, 1)
    with database.session() as session:
        rows = {r.signal_type: r for r in session.scalars(select(StopNCIIHash))}
        assert rows["VideoTMK"].supported is False and rows["VideoTMK"].entry_id is None
        assert rows["VideoTMK"].value == tmk and rows["VideoTMK"].status == "active"
        entry = session.get(BankEntry, rows["VideoMD5"].entry_id)
        assert entry is not None and (entry.signal_type, entry.value) == ("md5", md5)
        state = stopncii.status(session, on)
    assert state.unsupported == 1
    assert state.counts[("VideoTMK", "active", False)] == 1
    assert _verdict(database, on, Signals(md5=md5)) == "review"
    # Withdrawn like any other: its status follows its cases.
    standin.set_case("case-v", "Withdrawn")
    _pull(database, on)
    with database.session() as session:
        state = stopncii.status(session, on)
    assert state.counts == {("VideoMD5", "withdrawn", True): 1, ("VideoTMK", "withdrawn", False): 1}


def _garbage_pages(value: str) -> list[tuple[Misbehaviour, str]]:
    good = {
        "lastModtimestamp": 1_800_000_000, "signalType": "ImagePDQ", "hashValue": value,
        "hashStatus": "Active", "caseNumbers": {"c": "Active"},
    }  # fmt: skip

    def page(*records: object) -> bytes:
        return json.dumps({"count": len(records), "nextPageToken": None,
                           "nextSetTimestamp": 1_900_000_000, "hasMoreRecords": False,
                           "hashRecords": list(records)}).encode()  # fmt: skip

    return [
        (Misbehaviour(body=b"\x00garbage<html>"), "not JSON"),
        (Misbehaviour(body=b'{"hashRecords": []}'), "not a FetchHashes page"),
        (Misbehaviour(body=page(good, {**good, "hashValue": value[:-1] + "z"})), "record 2"),
        (Misbehaviour(body=page(good, {**good, "signalType": "ImageXYZ"})), "record 2: unknown"),
        (Misbehaviour(body=page(good, {**good, "caseNumbers": {"c": "Gone"}})), "case status"),
        (Misbehaviour(body=page({**good, "lastModtimestamp": "soon"})), "record 1"),
        (Misbehaviour(body=page(good, [1, 2])), "record 2 is not an object"),
        (Misbehaviour(status=503), "HTTP 503"),
        (Misbehaviour(delay_s=1.5), "timeout"),
    ]


def test_a_bad_page_changes_nothing_and_the_checkpoint_stays(
    database: Database, on: Settings, standin: StandIn, caplog: pytest.LogCaptureFixture
) -> None:
    first = secrets.token_hex(32)
    standin.add_case("case-1", first)
    assert _pull(database, on).added == 1
    before = _state(database)
    value = secrets.token_hex(32)
    standin.add_case("case-2", value)
    caplog.set_level(logging.WARNING, logger="rescind.exchange")
    for trouble, reason in _garbage_pages(value):
        standin.misbehave.append(trouble)
        result = _pull(database, on)
        assert result.error is not None and reason in result.error, (reason, result.error)
        checkpoint, active, error = _state(database)
        assert (checkpoint, active) == before[:2], reason
        assert error == result.error  # shown to operators
    logged = caplog.text
    assert "pull from StopNCII failed" in logged and "not JSON" in logged
    assert value not in logged and first not in logged  # never a hash in the log
    with database.session() as session:
        failures = session.scalar(
            select(func.count()).where(AuditEvent.action == "stopncii.pull_failed")
        )
    assert failures == len(_garbage_pages(value))
    # StopNCII answers well again: what was refused arrives, the error clears.
    assert _pull(database, on).added == 1
    checkpoint, active, error = _state(database)
    assert checkpoint > before[0] and active == 2 and error is None


def test_pages_are_applied_one_by_one_and_a_failed_page_is_fetched_again(
    database: Database, on: Settings, standin: StandIn
) -> None:
    standin.page_cap = 2
    values = [secrets.token_hex(32) for _ in range(5)]
    for i, value in enumerate(values):
        standin.add_case(f"case-{i}", value)
    standin.misbehave += [Misbehaviour(), Misbehaviour(body=b"[")]  # page 2 is garbage
    result = _pull(database, on)
    assert result.pages == 1 and result.error is not None
    checkpoint, active, _ = _state(database)
    assert (
        active == 2 and checkpoint == standin.records[("ImagePDQ", values[1])]["lastModtimestamp"]
    )
    result = _pull(database, on)
    assert (result.error, result.pages) == (None, 2)
    assert _state(database)[1] == 5
    # Resumed from the checkpoint (one query, paged by its token), not from the beginning.
    resumed = [f for f in standin.fetches if "nextPageToken" not in f]
    assert [int(f["startTimestamp"]) for f in resumed] == [0, checkpoint]


def test_only_the_configured_host_is_contacted(database: Database, settings: Settings) -> None:
    for url, why in (
        ("http://169.254.169.254/v1", "link-local"),
        ("http://127.0.0.1:9/v1", "private or loopback"),
        ("ftp://stopncii.example/v1", "http(s)"),
    ):
        plain = _configured(settings, url).model_copy(update={"exchange_allow_private": False})
        result = stopncii.pull(database.engine, plain)
        assert result.error is not None and why in result.error
        assert _state(database)[0] == 0


def _decide_remove(database: Database, settings: Settings, case_id: int, user_id: int) -> None:
    from rescind.store.models import User

    enforce = RemovalEnforcer(PlatformRuntime(settings, database.engine))
    with database.session() as session:
        case = session.get(Request, case_id)
        user = session.get(User, user_id)
        assert case is not None and user is not None
        review.decide(
            session, settings, case, review.Reviewer.of_user(user), "remove", enforce=enforce
        )


def test_only_consented_cases_are_shared_and_their_withdrawal_follows(
    database: Database, on: Settings, standin: StandIn
) -> None:
    shared, private = secrets.token_hex(32), secrets.token_hex(32)
    with database.session() as session:
        yes = submit_request(session, on, valid_input(share_consent=True))
        yes.request.items[0].pdq = [shared]
        no = submit_request(session, on, valid_input())
        no.request.items[0].pdq = [private]
        alice = create_user(session, "alice", "correct horse battery", "reviewer")
        ids = yes.request.id, no.request.id, alice.id
    assert not standin.submitted
    for case_id in ids[:2]:
        _decide_remove(database, on, case_id, ids[2])
    worker = Worker(on, database, build_job_registry())
    while worker.run_once():
        pass
    assert [(r["signalType"], r["hashValue"]) for r in standin.submitted] == [("ImagePDQ", shared)]
    assert standin.submitted[0]["CSPFeedbacks"][0]["feedbackValue"] == "Blocked"
    with database.session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "stopncii.submitted")
        ).all()
        assert [(e.subject_id, e.detail) for e in events] == [(yes.case_number, {"hashes": 1})]
        case = session.get(Request, ids[0])
        assert case is not None
        withdraw(session, on, case, on_withdraw=withdraw_hashes)
        other = session.get(Request, ids[1])
        assert other is not None
        withdraw(session, on, other, on_withdraw=withdraw_hashes)
    while worker.run_once():
        pass
    assert [(f["hashValue"], f["feedbackValue"]) for f in standin.feedback] == [
        (shared, "Withdrawn")
    ]


def test_a_verdict_is_sent_back_as_feedback(
    database: Database, on: Settings, standin: StandIn
) -> None:
    value = secrets.token_hex(32)
    standin.add_case("case-1", value)
    _pull(database, on)
    with database.session() as session:
        entry_id = session.scalars(select(StopNCIIHash.entry_id)).one()
        assert entry_id is not None
        stopncii.send_verdict(session, on, entry_id, "ncii")
    assert [(f["hashValue"], f["feedbackValue"]) for f in standin.feedback] == [(value, "Blocked")]
    with database.session() as session:
        assert (
            session.scalar(
                select(func.count()).where(AuditEvent.action == "stopncii.feedback_sent")
            )
            == 1
        )


def test_cli_pull_status_feedback(database: Database, settings: Settings, standin: StandIn) -> None:
    env = {
        "RESCIND_DATA_DIR": str(settings.data_dir),
        "RESCIND_DATABASE_URL": settings.sqlalchemy_url,
        "RESCIND_ENVIRONMENT": "test",
        "RESCIND_EXCHANGE_ALLOW_PRIVATE": "true",
        "RESCIND_STOPNCII_URL": standin.url,
        "RESCIND_STOPNCII_KEY": SUBSCRIPTION_KEY,
        "RESCIND_STOPNCII_FETCH_KEY": FUNCTION_KEYS["FetchHashes"],
        "RESCIND_STOPNCII_FEEDBACK_KEY": FUNCTION_KEYS["SubmitFeedback"],
    }
    value, tmk = secrets.token_hex(32), secrets.token_urlsafe(500)
    standin.add_case("case-1", value)
    standin.add_case("case-2", tmk, signal_type="VideoTMK")
    runner = CliRunner()
    pulled = runner.invoke(cli, ["exchange", "stopncii", "pull"], env=env)
    assert pulled.exit_code == 0, pulled.output
    assert "1 added" in pulled.output and "1 unsupported" in pulled.output
    shown = runner.invoke(cli, ["exchange", "stopncii", "status"], env=env)
    assert "VideoTMK\tactive\t1\tunsupported" in shown.output
    listed = runner.invoke(cli, ["partner", "list"], env=env)
    assert listed.output.startswith("stopncii\t") and "unsupported=1" in listed.output
    with database.session() as session:
        entry_id = session.scalars(
            select(StopNCIIHash.entry_id).where(StopNCIIHash.supported)
        ).one()
    sent = runner.invoke(
        cli, ["exchange", "feedback", str(entry_id), "--verdict", "not_ncii"], env=env
    )
    assert sent.exit_code == 0, sent.output
    assert [(f["hashValue"], f["feedbackValue"]) for f in standin.feedback] == [
        (value, "NotBlocked")
    ]
    standin.misbehave.append(Misbehaviour(body=b"nope"))
    failed = runner.invoke(cli, ["exchange", "stopncii", "pull"], env=env)
    assert failed.exit_code == 1 and "not JSON" in failed.output
    listed = runner.invoke(cli, ["partner", "list"], env=env)
    assert "error=the page is not JSON" in listed.output
    for result in (pulled, shown, listed, sent, failed):
        assert value not in result.output and tmk not in result.output


def test_the_adapter_is_off_unless_configured(database: Database, settings: Settings) -> None:
    assert not stopncii.configured(settings)
    with database.session() as session:
        stopncii.pull_due(session, settings, stopncii.utcnow())
        assert session.scalar(select(func.count()).select_from(ExchangeSource)) == 0
    runner = CliRunner()
    env = {
        "RESCIND_DATA_DIR": str(settings.data_dir),
        "RESCIND_DATABASE_URL": settings.sqlalchemy_url,
        "RESCIND_ENVIRONMENT": "test",
    }
    refused = runner.invoke(cli, ["exchange", "stopncii", "pull"], env=env)
    assert refused.exit_code == 2 and "not configured" in refused.output


def test_the_worker_pulls_stopncii_on_its_period(
    database: Database, on: Settings, standin: StandIn
) -> None:
    value = secrets.token_hex(32)
    standin.add_case("case-1", value)
    worker = Worker(on.model_copy(update={"stopncii_pull_s": 3600.0}), database,
                    build_job_registry())  # fmt: skip
    worker.ensure_periodics()
    worker.run_once(limit=50)
    assert len(standin.fetches) == 1 and _state(database)[1] == 1
    # Due again only after RESCIND_STOPNCII_PULL_S: the task's next turns do not fetch.
    with database.session() as session:
        stopncii.pull_due(session, worker.settings, stopncii.utcnow())
    assert len(standin.fetches) == 1
    with database.session() as session:
        later = stopncii.utcnow() + timedelta(hours=2)
        stopncii.pull_due(session, worker.settings, later)
    assert len(standin.fetches) == 2


def test_a_backlog_is_pulled_in_slices_without_waiting_for_the_period(
    database: Database, on: Settings, standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stopncii, "MAX_PAGES_PER_PULL", 2)
    standin.page_cap = 2
    for i in range(9):
        standin.add_case(f"case-{i}", secrets.token_hex(32))
    result = _pull(database, on)
    assert (result.pages, result.backlog, _state(database)[1]) == (2, True, 4)
    slow = on.model_copy(update={"stopncii_pull_s": 3600.0})
    with database.session() as session:
        stopncii.pull_due(session, slow, stopncii.utcnow())  # due at once: more records wait
    # (A slice starts at the last change the previous one covered: that record comes again.)
    assert _state(database)[1] == 7
    with database.session() as session:
        stopncii.pull_due(session, slow, stopncii.utcnow())
    assert _state(database)[1] == 9
    with database.session() as session:
        stopncii.pull_due(session, slow, stopncii.utcnow())  # drained: waits for its period
    assert len(standin.fetches) == 6


def test_an_upheld_appeal_withdraws_only_that_items_hashes_at_stopncii(
    database: Database, on: Settings, standin: StandIn
) -> None:
    """A consented case of two items shares both hashes; the uploader of the first item's
    content appeals and another reviewer upholds it: StopNCII hears `Withdrawn` for the first
    item's hash only, the second stays shared."""
    from rescind.cases.appeals import decide_appeal, file_removal_appeal
    from rescind.cases.validation import ItemInput
    from rescind.platform.actions import mark_done
    from rescind.store.models import Action

    one, two = secrets.token_hex(32), secrets.token_hex(32)
    items = [
        ItemInput(url="https://platform.example/p/1", pdq=[one]),
        ItemInput(url="https://platform.example/p/2", pdq=[two]),
    ]
    with database.session() as session:
        filed = submit_request(session, on, valid_input(share_consent=True, items=items))
        alice = create_user(session, "alice", "correct horse battery", "reviewer")
        bob = create_user(session, "bob", "correct horse battery", "reviewer")
        case_id, alice_id = filed.request.id, alice.id
        bob_reviewer = review.Reviewer.of_user(bob)
    _decide_remove(database, on, case_id, alice_id)
    worker = Worker(on, database, build_job_registry())
    while worker.run_once():
        pass
    assert sorted(r["hashValue"] for r in standin.submitted) == sorted([one, two])
    with database.session() as session:
        removals = list(session.scalars(select(Action).order_by(Action.id)))
        for action in removals:
            mark_done(session, action.id)
        first = next(a for a in removals if a.url == "https://platform.example/p/1")
        appeal, _ = file_removal_appeal(session, on, first.id, "my own photo", "apikey:1")
        enforce = RemovalEnforcer(PlatformRuntime(on, database.engine))
        decide_appeal(session, on, appeal, bob_reviewer, True, "it is hers", enforce=enforce)
    while worker.run_once():
        pass
    assert [(f["hashValue"], f["feedbackValue"]) for f in standin.feedback] == [(one, "Withdrawn")]
    with database.session() as session:
        active = session.scalars(
            select(BankEntry.value).where(
                BankEntry.request_id == case_id, BankEntry.status == "active"
            )
        ).all()
    assert two in active and one not in active


def test_a_smooth_pictures_hashes_are_not_shared(
    database: Database, on: Settings, standin: StandIn
) -> None:
    """A gradient's hashes (the requester's device found the picture smooth) are banked here
    held to 16 bits, but StopNCII's platforms would match them at their own threshold: they
    are left out of what the case shares; the case's other hashes go."""
    shared, smooth = secrets.token_hex(32), secrets.token_hex(32)
    with database.session() as session:
        case = submit_request(session, on, valid_input(share_consent=True))
        case.request.items[0].pdq = [shared]
        case.request.items.append(
            RequestItem(
                url="https://platform.example/gradient",
                pdq=[smooth],
                views=[{"variant": "full", "quality": 100, "hash": smooth, "smooth": True}],
            )
        )
        alice = create_user(session, "alice", "correct horse battery", "reviewer")
        ids = case.request.id, alice.id
    _decide_remove(database, on, *ids)
    worker = Worker(on, database, build_job_registry())
    while worker.run_once():
        pass
    assert [r["hashValue"] for r in standin.submitted] == [shared]


def test_a_flat_pictures_equalised_views_are_not_shared(
    database: Database, on: Settings, standin: StandIn
) -> None:
    """A flat picture's device views include its equalised copy's (`eq_...`): banked here to
    meet an upload's equalised views only, they are no hash StopNCII's platforms could hold
    to that, so the case shares the picture's own hash and not them."""
    flat, equalised = secrets.token_hex(32), secrets.token_hex(32)
    with database.session() as session:
        case = submit_request(session, on, valid_input(share_consent=True))
        case.request.items[0].pdq = [flat]
        case.request.items[0].views = [
            {"variant": "full", "quality": 12, "hash": flat},
            {"variant": "eq_full", "quality": 95, "hash": equalised},
        ]
        alice = create_user(session, "alice", "correct horse battery", "reviewer")
        ids = case.request.id, alice.id
    _decide_remove(database, on, *ids)
    with database.session() as session:
        banked = set(session.scalars(select(BankEntry.value)))
    assert {flat, equalised} <= banked
    worker = Worker(on, database, build_job_registry())
    while worker.run_once():
        pass
    assert [r["hashValue"] for r in standin.submitted] == [flat]
