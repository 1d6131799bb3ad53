"""Engine and sessions built from Settings (no module-level engine), and schema upgrades."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from rescind.config import Settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web server read while the worker writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, *, pooled: bool = True) -> Engine:
    """An engine for `url` with the per-backend settings Rescind relies on.

    `hide_parameters`: a database error's message (logged with its traceback) names the
    statement but not its parameters, which hold what people sent us (names, supporting
    information, case numbers, secret hashes)."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            hide_parameters=True,
            **({} if pooled else {"poolclass": NullPool}),
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if not pooled:
        return create_engine(url, poolclass=NullPool, hide_parameters=True)
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
    )


# The `Session.info` entry holding the Settings the session's Database was built from. Services
# below the web and command line reach instance keys through it (the audit chain's MAC key)
# without a module-global registry and without changing their call signatures.
_SETTINGS_INFO = "rescind.settings"


class SessionSettingsMissing(RuntimeError):
    """A session not made by `Database` was asked for its instance settings."""


def session_settings(session: Session) -> Settings:
    """The Settings of the Database that made `session`."""
    settings = session.info.get(_SETTINGS_INFO)
    if not isinstance(settings, Settings):
        raise SessionSettingsMissing(
            "this session was not made by rescind.store.Database: instance keys are unknown"
        )
    return settings


def instance_session(engine: Engine, settings: Settings) -> Session:
    """A session on `engine` that knows its instance's settings, as `Database`'s sessions do
    (the audit chain's key comes from them), for code handed an engine rather than a Database."""
    return Session(engine, info={_SETTINGS_INFO: settings})


class Database:
    """The database of one Rescind instance: an engine and a session factory."""

    def __init__(self, settings: Settings) -> None:
        url = settings.sqlalchemy_url
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(
            self.engine, expire_on_commit=False, info={_SETTINGS_INFO: settings}
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on error. Services never commit."""
        with self.sessionmaker() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our packaged migrations and `url`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("rescind.store") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_database(settings: Settings, revision: str = "head") -> None:
    """Bring the schema up to `revision` (the one way the schema is built, tests included)."""
    url = settings.sqlalchemy_url
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)
