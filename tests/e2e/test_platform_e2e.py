"""End to end on real processes: a platform registers 1,000 uploads, a request for one URL is
approved, exactly the copies are actioned, and every action reaches a real webhook receiver
exactly once in effect, through an outage and a worker killed with SIGKILL mid-delivery."""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rescind.client import RescindClient
from rescind.platform.apikeys import create_api_key
from rescind.store import Database
from rescind.store.models import Action, ActionAttempt
from tests.e2e import media
from tests.e2e.servers import rescind_env, serve, start, stop
from tests.platform.helpers import random_pdq
from tests.platform.receiver import Receiver

pytestmark = pytest.mark.slow

SECRET = "e2e-webhook-secret"
TOTAL = 1000
REAL_UNRELATED = 30
CHECKED_BY_HASH = 100
URL = "https://platform.example/u/{}"


def _wait(what: str, ready: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _count(database: Database, query: object) -> int:
    with database.session() as session:
        return int(session.scalar(query) or 0)  # type: ignore[call-overload]


def test_removal_reaches_the_platform_exactly_once(
    db_url: str, database: Database, tmp_path: Path
) -> None:
    with database.session() as session:
        _, platform_key = create_api_key(session, "uploads", frozenset({"check", "content"}))
        _, staff_key = create_api_key(
            session, "trust-and-safety", frozenset({"requests:write", "requests:read", "review"})
        )
    receiver = Receiver(SECRET)
    receiver.start()
    env = rescind_env(
        db_url,
        tmp_path / "data",
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        matcher_poll_s="0.2",
        worker_lease_s="3",
    )
    log = tmp_path / "rescind.log"
    server, base = serve(env, log, "--no-worker")
    worker = start(["worker"], env, log)
    try:
        # 1. The platform checks every upload: the reported photo, its copies, unrelated ones.
        base_image = media.reported()
        copies = media.copies(base_image)
        rng = random.Random(2026)
        with RescindClient(base, platform_key) as platform:
            assert (
                platform.check_media("u-reported", media.jpeg(base_image), url=URL.format(0))[
                    "verdict"
                ]
                == "allow"
            )
            for name, data in copies.items():
                verdict = platform.check_media(f"u-{name}", data, url=URL.format(name))["verdict"]
                assert verdict == "allow"
            for i, data in enumerate(media.unrelated(REAL_UNRELATED)):
                platform.check_media(f"u-photo-{i}", data, url=URL.format(f"photo-{i}"))
            # Uploads the platform hashed itself: some checked one by one (concurrently),
            # the rest registered in bulk (backfill).
            hashes = [random_pdq(rng) for _ in range(TOTAL - 1 - len(copies) - REAL_UNRELATED)]
            with ThreadPoolExecutor(8) as pool:
                verdicts = pool.map(
                    lambda i: platform.check(f"u-hash-{i}", pdq=[hashes[i]], md5=f"{i:032x}"),
                    range(CHECKED_BY_HASH),
                )
                assert {v["verdict"] for v in verdicts} == {"allow"}
            for first in range(CHECKED_BY_HASH, len(hashes), 300):
                batch = [
                    {"content_id": f"u-hash-{i}", "url": URL.format(i), "pdq": [hashes[i]]}
                    for i in range(first, min(first + 300, len(hashes)))
                ]
                assert platform.register(batch) == len(batch)

        # 2. The receiver goes down; a request for the reported URL is approved.
        receiver.stop()
        with RescindClient(base, staff_key) as staff:
            case = staff.create_request(
                {
                    "language": "en",
                    "channel": "api",
                    "requester": {"name": "A. Person", "email": "a@example.org"},
                    "signature": "A. Person",
                    "good_faith_statement": "This image of me was shared without my consent.",
                    "items": [{"url": URL.format(0)}],
                }
            )["case_number"]
            staff.decide(case, "remove", "confirmed")
            expected = {"u-reported", *(f"u-{name}" for name in copies)}
            copies_found = {c["content_id"] for c in staff.get_request(case)["copies"]}
            assert copies_found == expected
        with database.session() as session:
            actions = {a.content_id: a.idempotency_key for a in session.scalars(select(Action))}
        assert set(actions) == expected  # exactly the copies (and the reported item)

        # 3. Deliveries fail while it is down, and are retried.
        _wait(
            "a failed attempt per action",
            lambda: (
                _count(database, select(func.count(func.distinct(ActionAttempt.action_id))))
                == len(expected)
            ),
        )
        # 4. It comes back slow; the worker is killed with SIGKILL in the middle of a delivery.
        receiver.delay_s = 5.0
        receiver.arrived.clear()
        receiver.start()
        assert receiver.arrived.wait(30)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        receiver.delay_s = 0.0
        worker = start(["worker"], env, log)
        _wait(
            "every action delivered",
            lambda: (
                _count(
                    database,
                    select(func.count()).select_from(Action).where(Action.status == "delivered"),
                )
                == len(expected)
            ),
        )
        # 5. Every action arrived, verified, and only the one cut off arrived twice.
        received = Counter(receiver.keys())
        assert set(received) == set(actions.values())
        assert sum(received.values()) - len(received) <= 1
        assert receiver.rejected == 0
        content_ids = {d["content_id"] for d in receiver.deliveries}
        assert content_ids == expected
        assert all(d["case_number"] == case for d in receiver.deliveries)
    finally:
        stop(worker)
        stop(server)
        receiver.stop()
