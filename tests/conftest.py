"""Shared fixtures: a migrated database on SQLite and on a real PostgreSQL 15 cluster."""

from __future__ import annotations

import shutil
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from rescind.config import Settings
from rescind.store import Database, upgrade_database
from tests.pg import PostgresCluster


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the index kernels once, before any test starts a server or a worker.

    numba caches compiled kernels next to their source. On a clean clone (CI) the cache is
    empty, and every process a test starts would otherwise compile them at once, competing
    for the cores while its requests wait."""
    from rescind.index import HammingIndex

    index = HammingIndex()
    index.add([1], ["0" * 64])
    index.search_one("0" * 64, 31)
    index.search(["0" * 64, "f" * 64], 31)


@pytest.fixture(autouse=True)
def _fastapi_alias_warning_ignored() -> None:
    """The pyproject filter on pydantic's UnsupportedFieldAttributeWarning, once more as each
    test starts. FastAPI and pydantic wrap work in ``warnings.catch_warnings``, which swaps
    the process's filter list and is not thread-safe: a server thread that outlives a test and
    enters it while pytest installs the next test's filters restores a list without that
    filter (CI, 2026-12-05: a test failed on the warning though pyproject ignores it)."""
    from pydantic.warnings import UnsupportedFieldAttributeWarning

    warnings.filterwarnings("ignore", category=UnsupportedFieldAttributeWarning)


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=[pytest.mark.postgres, pytest.mark.slow]),
]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """One PostgreSQL cluster for the whole test session."""
    cluster = PostgresCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def pg_template(pg_cluster: PostgresCluster) -> str:
    """A migrated template database; each test gets a fresh copy of it."""
    admin = create_engine(pg_cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE rescind_template"))
    admin.dispose()
    upgrade_database(Settings(environment="test", database_url=pg_cluster.url("rescind_template")))
    return "rescind_template"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade_database(Settings(environment="test", database_url=f"sqlite:///{path}"))
    return path


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a freshly migrated, empty database: SQLite file or PostgreSQL database."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "rescind.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    template_name: str = request.getfixturevalue("pg_template")
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    try:
        yield cluster.url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# The bearer token /metrics wants in tests (`settings`), and the header that sends it.
METRICS_TOKEN = "test-metrics-token"
METRICS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Test settings on the parametrised database. Webhook receivers in tests listen on
    loopback, which production refuses unless allowed (tests/platform/test_endpoint_urls.py
    checks the refusal with the allowance off); /metrics is readable with `METRICS_TOKEN`."""
    return Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=db_url,
        metrics_token=METRICS_TOKEN,
        webhook_allow_private=True,
    )


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    """A Database on the parametrised backend, disposed at the end."""
    db = Database(settings)
    try:
        yield db
    finally:
        db.dispose()
