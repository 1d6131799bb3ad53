"""Signed checkpoints of the audit chain's head, kept out of the database.

The keyed chain shows any edit, but a chain whose newest rows were deleted is still a whole
chain. A checkpoint is a small file under `data_dir/audit-checkpoints/` (directory 0700, files
0600) naming the newest event's id and hash and the number of events, with an HMAC keyed by a
key derived from the instance secret. `verify_audit` checks the chain, that every checkpoint's
event is still in it with the same hash and position, and that every file's MAC still holds.
Copy these files off the machine to protect them from someone who can delete them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rescind.config import Settings
from rescind.security.audit import Anchor, AuditKeys, ChainReport, record, verify_chain
from rescind.store.columns import utcnow
from rescind.store.models import AuditEvent

CHECKPOINT_DIR = "audit-checkpoints"
_NAME = re.compile(r"^cp-(\d{12})-(\d+)\.json$")
_FORMAT = 1
# How often the worker checkpoints the head (only when it moved): the events of the last
# interval are the ones a truncation could remove unnoticed.
CHECKPOINT_EVERY_S = 300.0
# How often the worker re-verifies the whole chain and records the result for the console.
VERIFY_EVERY_S = 24 * 3600.0
VERIFIED = "audit.verified"


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint file: the chain's head when it was written."""

    event_id: int
    hash: str
    events: int
    at: datetime
    name: str

    @property
    def anchor(self) -> Anchor:
        """What the chain must still hold."""
        return Anchor(self.event_id, self.hash, self.events, self.name)


@dataclass(frozen=True)
class CheckpointFiles:
    """The checkpoints read from disk, and the files that failed their check."""

    checkpoints: list[Checkpoint]
    problems: list[str]

    @property
    def newest(self) -> Checkpoint | None:
        """The checkpoint of the highest event id."""
        return max(self.checkpoints, key=lambda c: c.event_id, default=None)


def checkpoint_dir(settings: Settings) -> Path:
    """Where this instance keeps its checkpoints."""
    return settings.data_dir / CHECKPOINT_DIR


def _mac(key: bytes, body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


def _head(session: Session) -> tuple[int, str, int] | None:
    head = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    if head is None:
        return None
    # Counted up to the head, not in total: a later append committed between the two
    # statements must not shift the position (appends commit in id order, under the lock).
    count = session.scalar(select(func.count()).where(AuditEvent.id <= head.id)) or 0
    return head.id, head.hash, count


def write_checkpoint(session: Session, settings: Settings) -> Checkpoint | None:
    """Checkpoint the chain's head; None if the log is empty or the newest checkpoint already
    names the head."""
    head = _head(session)
    if head is None:
        return None
    event_id, event_hash, events = head
    newest = newest_checkpoint(settings)
    if newest is not None and newest.event_id == event_id:
        return None
    at = utcnow()
    body: dict[str, Any] = {
        "format": _FORMAT,
        "event_id": event_id,
        "hash": event_hash,
        "events": events,
        "at": at.isoformat(timespec="microseconds"),
    }
    body["mac"] = _mac(AuditKeys.from_settings(settings).checkpoint, body)
    folder = checkpoint_dir(settings)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)  # mkdir's mode does not apply to a directory that already existed
    name = f"cp-{event_id:012d}-{int(at.timestamp() * 1_000_000)}.json"
    temporary = folder / f".{name}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(body, out, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    # Renamed into place whole: a reader never sees half a checkpoint.
    os.replace(temporary, folder / name)
    return Checkpoint(event_id, event_hash, events, at, name)


def _read(path: Path, key: bytes) -> Checkpoint:
    body = json.loads(path.read_text())
    mac = body.pop("mac")
    if not hmac.compare_digest(str(mac), _mac(key, body)):
        raise ValueError("signature does not match (file altered, or another secret key)")
    match = _NAME.match(path.name)
    if match is None or int(match.group(1)) != body["event_id"] or body["format"] != _FORMAT:
        raise ValueError("file name and content disagree")
    return Checkpoint(
        int(body["event_id"]),
        str(body["hash"]),
        int(body["events"]),
        datetime.fromisoformat(body["at"]),
        path.name,
    )


def load_checkpoints(settings: Settings) -> CheckpointFiles:
    """Every checkpoint file of this instance, each checked against its MAC."""
    folder = checkpoint_dir(settings)
    if not folder.is_dir():
        return CheckpointFiles([], [])
    key = AuditKeys.from_settings(settings).checkpoint
    checkpoints: list[Checkpoint] = []
    problems: list[str] = []
    for path in sorted(folder.glob("cp-*.json")):
        try:
            checkpoints.append(_read(path, key))
        except (ValueError, KeyError, TypeError, OSError) as exc:
            problems.append(f"checkpoint {path.name}: {exc}")
    return CheckpointFiles(checkpoints, problems)


def newest_checkpoint(settings: Settings) -> Checkpoint | None:
    """The checkpoint of the highest event id, read alone; None if there is none or its file
    fails its check (`verify_audit` reports that)."""
    folder = checkpoint_dir(settings)
    # Zero-padded ids, then the time: the last name is the newest checkpoint of the newest head.
    names = sorted(p.name for p in folder.glob("cp-*.json")) if folder.is_dir() else []
    if not names:
        return None
    try:
        return _read(folder / names[-1], AuditKeys.from_settings(settings).checkpoint)
    except (ValueError, KeyError, TypeError, OSError):
        return None


@dataclass(frozen=True)
class AuditVerification:
    """The chain's verification against every checkpoint on disk."""

    chain: ChainReport
    files: CheckpointFiles

    @property
    def ok(self) -> bool:
        """Whether the chain, the checkpoints and their files all hold."""
        return self.chain.ok and not self.files.problems


def verify_audit(session: Session, settings: Settings) -> AuditVerification:
    """Verify the keyed chain and anchor it at every valid checkpoint."""
    files = load_checkpoints(settings)
    keys = AuditKeys.from_settings(settings)
    chain = verify_chain(session, keys, anchors=[c.anchor for c in files.checkpoints])
    return AuditVerification(chain, files)


def record_verification(session: Session, actor: str, result: AuditVerification) -> AuditEvent:
    """Keep the outcome in the log itself, where the console shows the latest one."""
    return record(
        session,
        actor,
        VERIFIED,
        detail={
            "ok": result.ok,
            "events": result.chain.events,
            "first_bad_id": result.chain.first_bad_id,
            "problem": result.chain.problem,
            "checkpoints": len(result.files.checkpoints),
            "bad_checkpoint_files": len(result.files.problems),
        },
    )


def last_verification(session: Session) -> AuditEvent | None:
    """The newest recorded verification."""
    return session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == VERIFIED)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


def checkpoint_task(session: Session, settings: Settings, _now: datetime) -> None:
    """Periodic: checkpoint the head if it moved."""
    write_checkpoint(session, settings)


def verify_task(session: Session, settings: Settings, _now: datetime) -> None:
    """Periodic: verify the whole chain and record the result."""
    record_verification(session, "system", verify_audit(session, settings))
