"""Benchmark: pulling StopNCII.org hashes from the loopback stand-in server.

The stand-in (tests/exchange/stopncii_standin.py) holds N ImagePDQ hashes, one case each;
one pull fetches and applies them (pages of 800, at most 50 pages a pull), then every case is
withdrawn and a second pull withdraws them all. Prints the pages, counts and records/s of
each pull. The stand-in runs in the same process (its page building is part of the time).

Run: ``PYTHONPATH=src .venv/bin/python bench/stopncii_pull.py [N] [--database-url URL]``
(default N 40000, a fresh SQLite database in a temporary directory).
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.exchange.stopncii_standin import FUNCTION_KEYS, SUBSCRIPTION_KEY, running  # noqa: E402

from rescind.config import Settings  # noqa: E402
from rescind.exchange import stopncii  # noqa: E402
from rescind.store import Database, upgrade_database  # noqa: E402


def main() -> None:
    """Run the two pulls and print their figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=40_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with running() as standin:
        for i in range(args.n):
            standin.add_case(f"case-{i}", secrets.token_hex(32))
        settings = Settings(
            environment="test",
            data_dir=Path(tempfile.mkdtemp()),
            database_url=args.database_url,
            stopncii_url=standin.url,
            stopncii_key=SecretStr(SUBSCRIPTION_KEY),
            stopncii_fetch_key=SecretStr(FUNCTION_KEYS["FetchHashes"]),
            exchange_allow_private=True,
            exchange_timeout_s=60.0,
        )
        upgrade_database(settings)
        database = Database(settings)
        started = time.perf_counter()
        result = stopncii.pull(database.engine, settings)
        took = time.perf_counter() - started
        print(
            f"add: {result.pages} pages, {result.added} added in {took:.1f} s "
            f"({result.added / took:.0f} records/s), error={result.error}"
        )
        for i in range(args.n):
            standin.set_case(f"case-{i}", "Withdrawn")
        started = time.perf_counter()
        result = stopncii.pull(database.engine, settings)
        took = time.perf_counter() - started
        print(
            f"withdraw: {result.pages} pages, {result.withdrawn} withdrawn in {took:.1f} s "
            f"({result.withdrawn / took:.0f} records/s), error={result.error}"
        )
        database.dispose()


if __name__ == "__main__":
    main()
