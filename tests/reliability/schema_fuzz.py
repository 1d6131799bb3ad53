"""The long schemathesis run of `make reliability` (the short one is in the test suite:
tests/web/api/test_schemathesis.py): every /v1 operation of `/openapi.json`, on SQLite, with
`--examples` generated cases each (valid and invalid) and a random seed unless given.

    python -m tests.reliability.schema_fuzz --examples 500

Exit status 1 if any operation answered with a server error or otherwise than its document
says; the seed is printed so a failure can be replayed.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from rescind.config import Settings
from rescind.platform.apikeys import SCOPES, create_api_key
from rescind.store import Database, upgrade_database
from rescind.web import create_app
from tests.web.api.schema_fuzz import fuzz, loaded_schema


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="cases per operation")
    parser.add_argument("--seed", type=int, default=None, help="replay a run")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    with tempfile.TemporaryDirectory(prefix="rescind-schemathesis-") as tmp:
        settings = Settings(
            environment="test",
            data_dir=Path(tmp) / "data",
            database_url=f"sqlite:///{Path(tmp) / 'rescind.db'}",
        )
        upgrade_database(settings)
        database = Database(settings)
        try:
            with database.session() as session:
                _, key = create_api_key(session, "schemathesis", frozenset(SCOPES))
            started = time.monotonic()
            with loaded_schema(create_app(settings, database=database)) as schema:
                report = fuzz(
                    schema,
                    {"Authorization": f"Bearer {key}"},
                    max_examples=args.examples,
                    seed=seed,
                )
        finally:
            database.dispose()
    took = time.monotonic() - started
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(report.statuses.items()))
    print(f"schemathesis: seed {seed}, {report.calls} calls in {took:.0f} s ({statuses})")
    for label, failure in report.failures.items():
        print(f"\n== {label}\n{failure}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
