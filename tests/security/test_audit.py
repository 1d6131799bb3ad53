"""The keyed audit chain names the row where any stored field was changed, and its checkpoints
catch what a whole chain cannot show: removed newest rows, a chain recomputed from scratch."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr
from sqlalchemy import delete, select, update

from rescind.config import Settings
from rescind.security.audit import UNKEYED, Anchor, AuditKeys, ChainReport, record, verify_chain
from rescind.security.audit_checkpoints import (
    checkpoint_dir,
    last_verification,
    load_checkpoints,
    record_verification,
    verify_audit,
    write_checkpoint,
)
from rescind.store import Database
from rescind.store.models import AuditEvent


def _fill(database: Database, n: int = 5) -> list[int]:
    with database.session() as session:
        return [
            record(
                session,
                "user:1",
                "request.view",
                subject_type="request",
                subject_id=i,
                detail={"n": i},
            ).id
            for i in range(n)
        ]


def _events(database: Database) -> list[AuditEvent]:
    with database.session() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def _set(database: Database, event_id: int, **values: Any) -> None:
    with database.session() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(**values))


def _checkpoint(database: Database, settings: Settings) -> None:
    with database.session() as session:
        assert write_checkpoint(session, settings) is not None


def test_intact_chain_verifies(database: Database) -> None:
    _fill(database)
    with database.session() as session:
        report = verify_chain(session)
    assert report.ok and report.events == 5


TAMPERED = {
    "actor": lambda e: "user:2",
    "action": lambda e: "request.edit",
    "subject_type": lambda e: "bank",
    "subject_id": lambda e: "999",
    "detail": lambda e: {"n": 99},
    "at": lambda e: e.at + timedelta(microseconds=1),
    "prev_hash": lambda e: "f" * 64,
    "hash": lambda e: "e" * 64,
    "scheme": lambda e: "md5",
}


@pytest.mark.parametrize("column", sorted(TAMPERED))
def test_a_changed_field_is_found_at_its_row(database: Database, column: str) -> None:
    ids = _fill(database)
    event = _events(database)[2]
    _set(database, ids[2], **{column: TAMPERED[column](event)})
    with database.session() as session:
        report = verify_chain(session)
    assert not report.ok and report.first_bad_id == ids[2], report


def test_deleted_row_is_found(database: Database) -> None:
    ids = _fill(database)
    with database.session() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id == ids[1]))
    with database.session() as session:
        report = verify_chain(session)
    assert not report.ok and report.first_bad_id == ids[2]


def test_deleted_row_with_the_next_one_relinked_is_found(database: Database) -> None:
    ids = _fill(database)
    events = _events(database)
    with database.session() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id == ids[2]))
    # The next row now names the row before the deleted one: only its MAC can tell.
    _set(database, ids[3], prev_hash=events[1].hash)
    with database.session() as session:
        report = verify_chain(session)
    assert not report.ok and report.first_bad_id == ids[3]


def test_a_different_secret_key_does_not_verify(database: Database, settings: Settings) -> None:
    ids = _fill(database)
    _checkpoint(database, settings)
    other = settings.model_copy(update={"secret_key": SecretStr("y" * 40)})
    impostor = Database(other)
    try:
        with impostor.session() as session:
            result = verify_audit(session, other)
    finally:
        impostor.dispose()
    assert not result.ok and result.chain.first_bad_id == ids[0]
    assert len(result.files.problems) == 1 and "signature" in result.files.problems[0]


def test_removing_the_newest_rows_is_caught_by_a_checkpoint(
    database: Database, settings: Settings
) -> None:
    ids = _fill(database)
    _checkpoint(database, settings)
    with database.session() as session:
        assert verify_audit(session, settings).ok
        session.execute(delete(AuditEvent).where(AuditEvent.id >= ids[3]))
    with database.session() as session:
        assert verify_chain(session).ok  # the shorter chain is whole on its own
        result = verify_audit(session, settings)
    assert not result.ok and result.chain.first_bad_id == ids[4]
    assert "newest events were removed" in (result.chain.problem or "")


def _recompute_unkeyed(database: Database) -> None:
    """What someone with database access but no key can do: rebuild every hash."""
    with database.session() as session:
        prev = "0" * 64
        for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
            event.actor = "user:7"
            event.prev_hash = prev
            canonical = json.dumps(
                [
                    prev,
                    event.at.isoformat(timespec="microseconds"),
                    event.actor,
                    event.action,
                    event.subject_type,
                    event.subject_id,
                    event.detail,
                ],
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
            )
            event.hash = prev = hashlib.sha256(canonical.encode()).hexdigest()
            event.scheme = UNKEYED
            session.flush()


def test_a_chain_recomputed_without_the_key_is_caught(
    database: Database, settings: Settings
) -> None:
    ids = _fill(database)
    _checkpoint(database, settings)
    _recompute_unkeyed(database)
    with database.session() as session:
        result = verify_audit(session, settings)
    assert not result.ok and result.chain.first_bad_id == ids[4]
    assert "checkpoint" in (result.chain.problem or "")


def test_an_altered_checkpoint_file_is_reported(database: Database, settings: Settings) -> None:
    _fill(database)
    _checkpoint(database, settings)
    (path,) = checkpoint_dir(settings).glob("cp-*.json")
    body = json.loads(path.read_text())
    body["events"] -= 1
    path.write_text(json.dumps(body))
    with database.session() as session:
        result = verify_audit(session, settings)
    assert not result.ok and result.chain.ok
    assert result.files.problems == [
        f"checkpoint {path.name}: signature does not match (file altered, or another secret key)"
    ]


def test_checkpoints_are_private_and_written_once_per_head(
    database: Database, settings: Settings
) -> None:
    _fill(database)
    _checkpoint(database, settings)
    with database.session() as session:
        assert write_checkpoint(session, settings) is None  # the head did not move
    folder = checkpoint_dir(settings)
    (path,) = folder.glob("cp-*.json")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [c.events for c in load_checkpoints(settings).checkpoints] == [5]


def test_no_checkpoint_dir_is_not_an_error(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    _fill(database)
    # The same instance (same key), with a data directory that holds no checkpoints.
    settings = settings.model_copy(update={"data_dir": tmp_path / "elsewhere"})
    with database.session() as session:
        result = verify_audit(session, settings)
    assert result.ok and result.chain.anchors == 0
    assert (result.files.checkpoints, result.files.problems) == ([], [])


def test_checkpoints_accumulate_in_a_folder_made_on_first_use(
    settings: Settings, database: Database, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"data_dir": tmp_path / "new" / "data"})
    written = []
    for _ in range(2):
        _fill(database, 1)
        with database.session() as session:
            checkpoint = write_checkpoint(session, settings)
            assert checkpoint is not None
            written.append(checkpoint)
    events = _events(database)
    assert [(c.event_id, c.hash, c.events) for c in written] == [
        (events[0].id, events[0].hash, 1),
        (events[1].id, events[1].hash, 2),
    ]
    for c in written:  # cp-<event id, 12 digits>-<time in microseconds>.json
        assert c.name == f"cp-{c.event_id:012d}-{int(c.at.timestamp() * 1_000_000)}.json"
    assert load_checkpoints(settings).checkpoints == written


def _rewrite(path: Path, key: bytes, **changes: Any) -> None:
    body = json.loads(path.read_text())
    body.pop("mac")
    body.update(changes)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    body["mac"] = hmac.new(key, canonical, hashlib.sha256).hexdigest()
    path.write_text(json.dumps(body))


@pytest.mark.parametrize("change", ["renamed", "format"])
def test_a_checkpoint_whose_name_or_format_disagrees_is_a_problem(
    database: Database, settings: Settings, change: str
) -> None:
    # Even correctly signed (by someone holding the key), a file must say what its name says.
    _fill(database)
    _checkpoint(database, settings)
    [path] = checkpoint_dir(settings).glob("cp-*.json")
    key = AuditKeys.from_settings(settings).checkpoint
    if change == "renamed":
        path.rename(path.with_name("cp-000000000001-1.json"))
    else:
        _rewrite(path, key, format=2)
    files = load_checkpoints(settings)
    assert files.checkpoints == []
    assert [p.split(": ", 1)[1] for p in files.problems] == ["file name and content disagree"]


def _anchor(database: Database, index: int, label: str) -> Anchor:
    event = _events(database)[index]
    return Anchor(event.id, event.hash, index + 1, label)


def test_a_report_names_the_newest_checkpointed_event_that_was_removed(
    database: Database,
) -> None:
    ids = _fill(database, 6)
    anchors = [_anchor(database, 3, "cp-older"), _anchor(database, 5, "cp-newer")]
    with database.session() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id >= ids[3]))
    with database.session() as session:
        report = verify_chain(session, anchors=anchors)
    assert (report.ok, report.events, report.first_bad_id) == (False, 3, ids[5])
    assert report.problem == (
        f"the newest events were removed: checkpoint cp-newer names event {ids[5]}, "
        f"the chain ends at {ids[2]}"
    )


def test_an_emptied_log_is_reported_against_its_checkpoint(database: Database) -> None:
    ids = _fill(database, 2)
    anchors = [_anchor(database, 1, "cp-1")]
    with database.session() as session:
        session.execute(delete(AuditEvent))
    with database.session() as session:
        report = verify_chain(session, anchors=anchors)
    assert (report.ok, report.events, report.first_bad_id) == (False, 0, ids[1])
    assert report.problem is not None and report.problem.endswith("the chain ends at nothing")


def test_a_checkpointed_event_missing_inside_the_chain_is_named(database: Database) -> None:
    # A checkpoint naming an id the chain never had below its head (e.g. the log restored from
    # another instance's backup): the oldest such anchor is reported.
    ids = _fill(database, 3)
    events = _events(database)
    anchors = [
        Anchor(ids[0] - 1, events[0].hash, 1, "cp-b"),
        Anchor(ids[0] - 2, events[0].hash, 1, "cp-a"),
    ]
    with database.session() as session:
        report = verify_chain(session, anchors=anchors)
    assert (report.ok, report.events, report.first_bad_id) == (False, 3, ids[0] - 2)
    assert report.problem == "event named by checkpoint cp-a is missing"


def test_checkpoint_files_are_signed_over_their_canonical_json(
    database: Database, settings: Settings
) -> None:
    # The format is documented so another tool can check a checkpoint: HMAC-SHA256 with the
    # checkpoint key over the body without "mac", keys sorted, no spaces.
    _fill(database)
    _checkpoint(database, settings)
    [path] = checkpoint_dir(settings).glob("cp-*.json")
    body = json.loads(path.read_text())
    mac = body.pop("mac")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    # The key: HKDF-SHA256 of the instance secret, salt "rescind-v1", info "audit-checkpoint".
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"rescind-v1", info=b"audit-checkpoint")
    secret = settings.secret_key.get_secret_value().encode()
    assert mac == hmac.new(key.derive(secret), canonical, hashlib.sha256).hexdigest()


def test_the_recorded_verification_says_what_was_found(
    database: Database, settings: Settings
) -> None:
    ids = _fill(database)
    _checkpoint(database, settings)
    with database.session() as session:
        record_verification(session, "system", verify_audit(session, settings))
    _set(database, ids[1], detail={"n": 42})
    with database.session() as session:
        record_verification(session, "admin:1", verify_audit(session, settings))
        record(session, "user:1", "request.view", subject_type="request", subject_id=1)
    with database.session() as session:
        latest = last_verification(session)
        assert latest is not None and latest.actor == "admin:1"
        assert latest.detail == {
            "ok": False,
            "events": 2,
            "first_bad_id": ids[1],
            "problem": "row content altered (or a different secret key)",
            "checkpoints": 1,
            "bad_checkpoint_files": 0,
        }


def test_each_break_is_reported_with_its_row_position_and_kind(database: Database) -> None:
    ids = _fill(database, 6)
    _set(database, ids[3], scheme=UNKEYED)  # a row claiming the old, unkeyed scheme
    with database.session() as session:
        assert verify_chain(session) == ChainReport(
            False, 4, ids[3], "unkeyed row after the chain was keyed"
        )
    _set(database, ids[2], detail={"n": 99})
    with database.session() as session:
        assert verify_chain(session) == ChainReport(
            False, 3, ids[2], "row content altered (or a different secret key)"
        )
    with database.session() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.id == ids[1]))
    with database.session() as session:
        assert verify_chain(session) == ChainReport(
            False, 2, ids[2], "previous row missing or altered"
        )


def test_an_empty_log_verifies_with_no_head(database: Database) -> None:
    with database.session() as session:
        report = verify_chain(session)
    assert report == ChainReport(True, 0)
    assert report.head_id is None


def test_a_rewritten_chain_is_named_at_the_checkpointed_row(
    database: Database, settings: Settings
) -> None:
    ids = _fill(database)
    _checkpoint(database, settings)
    [path] = checkpoint_dir(settings).glob("cp-*.json")
    _recompute_unkeyed(database)
    with database.session() as session:
        chain = verify_audit(session, settings).chain
    assert chain == ChainReport(
        False, 5, ids[4], f"differs from checkpoint {path.name} (chain rewritten)"
    )


def test_a_row_hashed_by_the_documented_format_verifies(
    database: Database, settings: Settings
) -> None:
    # The chain's format is fixed, so rows verify after any upgrade: HMAC-SHA256, keyed by
    # HKDF-SHA256 of the instance secret (salt "rescind-v1", info "audit-chain"), over the
    # compact JSON list [prev, at (microseconds), actor, action, subject type, subject id,
    # detail], keys sorted, UTF-8 as is. Computed here independently of rescind.security.
    secret = "g" * 40
    fixed = settings.model_copy(update={"secret_key": SecretStr(secret)})
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    detail = {"b": [1, "é"], "a": None}
    body = ["0" * 64, at.isoformat(timespec="microseconds"), "user:1", "request.view"]
    body += ["request", "K7Q2-9XWM", detail]
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"rescind-v1", info=b"audit-chain")
    mac = hmac.new(key.derive(secret.encode()), canonical.encode(), hashlib.sha256).hexdigest()
    row = AuditEvent(
        prev_hash="0" * 64,
        at=at,
        actor="user:1",
        action="request.view",
        subject_type="request",
        subject_id="K7Q2-9XWM",
        detail=detail,
        scheme="hmac-sha256",
        hash=mac,
    )
    instance = Database(fixed)
    try:
        with instance.session() as session:
            session.add(row)
        with instance.session() as session:
            assert verify_chain(session) == ChainReport(True, 1)
    finally:
        instance.dispose()


def test_an_intact_chain_names_its_head_and_an_event_without_subject_keeps_none(
    database: Database,
) -> None:
    ids = _fill(database, 3)
    with database.session() as session:
        event = record(session, "system", "audit.verify")
        assert event.subject_id is None
    with database.session() as session:
        report = verify_chain(session)
    newest = _events(database)[-1]
    assert (report.ok, report.events) == (True, 4)
    assert (report.head_id, report.head_hash) == (newest.id, newest.hash)
    assert newest.id > ids[-1] and newest.subject_id is None
