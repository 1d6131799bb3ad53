"""The short schemathesis run (the long one is `make reliability`'s): every /v1 operation of
`/openapi.json` on SQLite, valid and invalid cases generated from the document, sent with a
key holding every scope. No answer may be a server error or differ from what the document
declares (status, content type, body)."""

from __future__ import annotations

import shutil
from pathlib import Path

from rescind.config import Settings
from rescind.platform.apikeys import SCOPES, create_api_key
from rescind.store import Database
from rescind.web import create_app
from tests.web.api.schema_fuzz import fuzz, loaded_schema

# About 25 s for the 23 operations on the 2-core test machine.
EXAMPLES = 25


def test_every_operation_answers_as_its_schema_says(sqlite_template: Path, tmp_path: Path) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "rescind.db")
    settings = Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'rescind.db'}",
    )
    database = Database(settings)
    try:
        with database.session() as session:
            _, key = create_api_key(session, "schemathesis", frozenset(SCOPES))
        with loaded_schema(create_app(settings, database=database)) as schema:
            report = fuzz(schema, {"Authorization": f"Bearer {key}"}, max_examples=EXAMPLES)
    finally:
        database.dispose()
    assert report.calls > 10 * EXAMPLES
    assert not report.failures, "\n\n".join(f"{k}:\n{v}" for k, v in report.failures.items())
    assert not [status for status in report.statuses if status >= 500]
