"""`rescind backup` / `rescind restore`: the database and the files an instance needs to read
it, in one archive.

The archive is a tar file holding `manifest.json`, the database (`database.sqlite`, a copy made
with SQLite's online backup API while the service runs; or `database.pgdump`, `pg_dump
--format=custom` of PostgreSQL), and from the data directory the generated secret key
(`secret-key`, when the key lives there rather than in `RESCIND_SECRET_KEY`) and the signed audit
checkpoints. With the key, the archive opens every sealed contact detail: it is written with
mode 0600 and must be stored like the key itself.

Restoring refuses a database that already holds data and a data directory holding another
secret key, unless forced; it replaces the audit checkpoints with the archive's (checkpoints
written after the backup name events the restored database no longer has, so they are moved
aside, not deleted).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from rescind.config import SECRET_KEY_FILE, Settings
from rescind.security.audit_checkpoints import CHECKPOINT_DIR

FORMAT = "rescind-backup"
VERSION = 1
PG_BIN_CANDIDATES = (
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
)
SQLITE_MEMBER = "database.sqlite"
PG_MEMBER = "database.pgdump"
# Tables whose rows mean "this database is in use" (a restore over them needs --force).
IN_USE_TABLES = ("requests", "users", "bank_entries", "contents", "audit_events")


class BackupError(Exception):
    """A backup or restore could not be done; the message says why and what to do."""


@dataclass(frozen=True)
class BackupSummary:
    """What an archive holds."""

    backend: str
    revision: str | None
    files: list[str]
    created_at: str


def pg_tool(name: str) -> str:
    """The path of a PostgreSQL client tool (`pg_dump`, `pg_restore`): on PATH, else in
    Debian's versioned directories (newest first)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in PG_BIN_CANDIDATES:
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    raise BackupError(f"{name} not found: install the PostgreSQL client (postgresql-client-15+)")


def _pg_args(url: URL) -> tuple[list[str], dict[str, str]]:
    # Connection options on the command line, the password in the environment (never in
    # the process list).
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _sqlite_path(settings: Settings) -> Path:
    return Path(settings.sqlalchemy_url.removeprefix("sqlite:///"))


def _backend(settings: Settings) -> str:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite:///"):
        return "sqlite"
    if url.startswith("postgresql"):
        return "postgresql"
    raise BackupError(f"unsupported database URL scheme: {url.split(':', 1)[0]}")


def _revision(settings: Settings) -> str | None:
    engine = create_engine(settings.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def _dump_database(settings: Settings, out: Path) -> str:
    if _backend(settings) == "sqlite":
        source = _sqlite_path(settings)
        if not source.exists():
            raise BackupError(f"no database at {source}")
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(out)
        try:
            with dst:
                src.backup(dst)  # consistent while the service keeps writing (online backup)
        finally:
            dst.close()
            src.close()
        return SQLITE_MEMBER
    url = make_url(settings.sqlalchemy_url)
    args, env = _pg_args(url)
    done = subprocess.run(  # noqa: S603 - an argument list, no shell
        [pg_tool("pg_dump"), "--format=custom", "--file", str(out), *args, str(url.database)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()[-500:]}")
    return PG_MEMBER


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def create_backup(settings: Settings, path: Path) -> BackupSummary:
    """Write the archive to `path` (mode 0600, replaced atomically; never over a directory)."""
    if path.is_dir():
        raise BackupError(f"{path} is a directory: give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rescind-backup-") as work:
        member = _dump_database(settings, Path(work) / "db")
        files = [member]
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as archive:
                archive.add(Path(work) / "db", arcname=member)
                key = settings.data_dir / SECRET_KEY_FILE
                if key.is_file():
                    _add_bytes(archive, f"data/{SECRET_KEY_FILE}", key.read_bytes())
                    files.append(f"data/{SECRET_KEY_FILE}")
                checkpoints = settings.data_dir / CHECKPOINT_DIR
                for cp in sorted(checkpoints.glob("*")) if checkpoints.is_dir() else []:
                    if cp.is_file():
                        name = f"data/{CHECKPOINT_DIR}/{cp.name}"
                        _add_bytes(archive, name, cp.read_bytes())
                        files.append(name)
                summary = BackupSummary(
                    backend=_backend(settings),
                    revision=_revision(settings),
                    files=files,
                    created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                )
                manifest = {"format": FORMAT, "version": VERSION, **summary.__dict__}
                _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=2).encode())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return summary


def _manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.extractfile("manifest.json")
    except KeyError:
        member = None
    if member is None:
        raise BackupError("not a Rescind backup (no manifest.json)")
    manifest: dict[str, Any] = json.loads(member.read())
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BackupError("not a Rescind backup of a version this Rescind can restore")
    return manifest


def _member(archive: tarfile.TarFile, name: str) -> bytes:
    try:
        handle = archive.extractfile(name)
    except KeyError:
        handle = None
    if handle is None:
        raise BackupError(f"the backup lacks {name}")
    return handle.read()


def database_in_use(settings: Settings) -> bool:
    """Whether the configured database already holds rows of Rescind's main tables."""
    if _backend(settings) == "sqlite" and not _sqlite_path(settings).exists():
        return False
    engine = create_engine(settings.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            return any(
                conn.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() is not None  # noqa: S608 - fixed names
                for table in IN_USE_TABLES
                if table in present
            )
    finally:
        engine.dispose()


def _restore_sqlite(settings: Settings, data: bytes) -> None:
    target = _sqlite_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rescind-restore-") as work:
        source_path = Path(work) / "db"
        source_path.write_bytes(data)
        src = sqlite3.connect(source_path)
        dst = sqlite3.connect(target)
        try:
            with dst:
                src.backup(dst)  # replaces every page of the target, WAL included
        finally:
            dst.close()
            src.close()
    os.chmod(target, 0o600)


def _restore_pg(settings: Settings, data: bytes, *, force: bool) -> None:
    url = make_url(settings.sqlalchemy_url)
    args, env = _pg_args(url)
    with tempfile.TemporaryDirectory(prefix="rescind-restore-") as work:
        dump = Path(work) / "db.pgdump"
        dump.write_bytes(data)
        clean = ["--clean", "--if-exists"] if force else []
        done = subprocess.run(  # noqa: S603 - an argument list, no shell
            [
                pg_tool("pg_restore"),
                "--no-owner",
                "--exit-on-error",
                *clean,
                "--dbname",
                str(url.database),
                *args,
                str(dump),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()[-500:]}")


def _restore_files(
    settings: Settings, archive: tarfile.TarFile, files: list[str], force: bool
) -> None:
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    key_member = f"data/{SECRET_KEY_FILE}"
    if key_member in files:
        key = _member(archive, key_member)
        current = data_dir / SECRET_KEY_FILE
        if current.exists() and current.read_bytes() != key:
            if not force:
                raise BackupError(
                    f"{current} holds another secret key: the restored contact details and "
                    "audit chain need the backup's. Use --force to set the current key aside."
                )
            current.rename(data_dir / f"{SECRET_KEY_FILE}.before-restore-{stamp}")
        fd = os.open(current, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key)
    checkpoints = data_dir / CHECKPOINT_DIR
    if checkpoints.exists():
        checkpoints.rename(data_dir / f"{CHECKPOINT_DIR}.before-restore-{stamp}")
    checkpoints.mkdir(mode=0o700)
    prefix = f"data/{CHECKPOINT_DIR}/"
    for name in files:
        if name.startswith(prefix):
            leaf = name.removeprefix(prefix)
            if "/" in leaf or leaf in ("", ".", ".."):
                raise BackupError(f"unexpected file in the backup: {name}")
            fd = os.open(checkpoints / leaf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(_member(archive, name))


def restore_backup(settings: Settings, path: Path, *, force: bool = False) -> BackupSummary:
    """Restore the archive at `path` into the configured database and data directory."""
    try:
        archive = tarfile.open(path, mode="r:")  # noqa: SIM115 - closed by the `with` below
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"cannot read {path}: {type(exc).__name__}") from None
    with archive:
        manifest = _manifest(archive)
        backend = _backend(settings)
        if manifest["backend"] != backend:
            raise BackupError(
                f"the backup is of a {manifest['backend']} database; this instance uses {backend}"
            )
        if database_in_use(settings) and not force:
            raise BackupError(
                "the database already holds data: restore into an empty database, or use "
                "--force to replace it"
            )
        files = [str(f) for f in manifest["files"]]
        # Files first: a refused key leaves the database untouched.
        _restore_files(settings, archive, files, force)
        if backend == "sqlite":
            _restore_sqlite(settings, _member(archive, SQLITE_MEMBER))
        else:
            _restore_pg(settings, _member(archive, PG_MEMBER), force=force)
    return BackupSummary(
        backend=backend,
        revision=manifest.get("revision"),
        files=files,
        created_at=str(manifest.get("created_at")),
    )
