"""`rescind serve --processes 2`: two server processes share the port, each follows the banks,
and every check lands in the one registry; the job worker runs once, in the supervisor."""

from __future__ import annotations

import random
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from rescind.platform.apikeys import create_api_key
from rescind.store import Database
from rescind.store.models import Content
from tests.e2e.servers import rescind_env, serve, stop
from tests.platform.helpers import flip, random_pdq

pytestmark = pytest.mark.slow


def _server_processes(supervisor: int) -> list[int]:
    """The uvicorn worker processes under `supervisor` (not multiprocessing's tracker)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [
        int(pid) for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def test_two_processes_answer_checks_and_follow_the_banks(
    db_url: str, database: Database, tmp_path: Path
) -> None:
    with database.session() as session:
        _, key = create_api_key(session, "both", frozenset({"check", "review"}))
    env = rescind_env(db_url, tmp_path / "data", matcher_poll_s="0.2")
    log = tmp_path / "rescind.log"
    server, base = serve(env, log, "--processes", "2")
    rng = random.Random(7)
    banked = random_pdq(rng)
    try:
        assert len(_server_processes(server.pid)) == 2
        assert "running in the supervising process" in log.read_text()  # the worker, once
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            added = http.post("/v1/banks/ncii/entries", json={"pdq": [banked]})
            assert added.status_code == 201, added.text
            # New connections land on either process; both must block the copy within 2 s.
            deadline = time.monotonic() + 10
            verdicts: list[str] = []
            while time.monotonic() < deadline:
                verdicts = [
                    httpx.post(
                        f"{base}/v1/check",
                        json={"content_id": f"copy-{i}", "pdq": [flip(banked, 10, rng)]},
                        headers=headers,
                    ).json()["verdict"]
                    for i in range(12)
                ]
                if set(verdicts) == {"block"}:
                    break
                time.sleep(0.2)
            assert set(verdicts) == {"block"}
            for i in range(12):
                body = {"content_id": f"other-{i}", "pdq": [random_pdq(rng)]}
                answer = http.post("/v1/check", json=body)
                assert answer.json()["verdict"] == "allow"
                assert "server" not in answer.headers  # the server software is not announced
    finally:
        stop(server)
    assert _count_contents(database) == 24
    server.wait(timeout=30)


def _count_contents(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count(Content.id))) or 0)
