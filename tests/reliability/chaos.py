"""The reliability run of issue 22: sustained load on 2 servers and 2 workers over PostgreSQL
while processes are killed with SIGKILL, PostgreSQL restarts and the webhook receiver drops;
then nothing acknowledged may be missing.

    python -m tests.reliability.chaos --duration 600     # `make reliability` (10 minutes)
    pytest -m slow tests/reliability                     # the short form (under 60 s)

Load: `/v1/check` calls (each recording content in the registry), API removal requests for
content checked earlier (`POST /v1/requests`), reviewer decisions (`remove`) on acknowledged
requests, and bad inputs (malformed JSON, missing fields, bad hashes, bad keys). Clients fail
over between the two servers as a reverse proxy would. Faults, one at a time at random: SIGKILL
a server or a worker (restarted after a pause), restart PostgreSQL (`pg_ctl restart -m
immediate`, a crash of the database), stop the webhook receiver for a while.

Afterwards, with every process up again: every request answered 201 is in the database, every
decision answered 200 produced its action, every action reached the receiver (verified
signature), `rescind audit verify` passes, and each server's RSS stayed under `rss_bound_mb`.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import create_engine, select, text

from rescind.config import Settings
from rescind.platform.apikeys import create_api_key
from rescind.store import Database, upgrade_database
from rescind.store.models import Action, Request
from tests.e2e.servers import CLI, rescind_env
from tests.pg import PostgresCluster, free_port
from tests.platform.receiver import Receiver

SECRET = "reliability-webhook-secret"
URL = "https://platform.example/r/{}"
RETRYABLE = (httpx.TransportError,)


@dataclass
class Figures:
    """What the run did and what it found."""

    duration_s: float = 0.0
    checks_ok: int = 0
    requests_acked: int = 0
    decisions_acked: int = 0
    bad_inputs: int = 0
    bad_inputs_refused_4xx: int = 0
    bad_inputs_5xx: int = 0
    client_retries: int = 0
    server_errors: Counter[str] = field(default_factory=Counter)
    load_5xx: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    actions: int = 0
    deliveries: int = 0
    duplicate_deliveries: int = 0
    missing_requests: int = 0
    missing_actions: int = 0
    undelivered_actions: int = 0
    audit_events: int = 0
    audit_ok: bool = False
    max_rss_mb: dict[str, float] = field(default_factory=dict)
    rss_bound_mb: float = 0.0
    drain_s: float = 0.0
    setup_s: float = 0.0

    @property
    def lost(self) -> int:
        """Acknowledged work not found at the end."""
        return self.missing_requests + self.missing_actions + self.undelivered_actions

    def table(self) -> str:
        """The figures as a Markdown table."""
        faults = ", ".join(f"{n} {k}" for k, n in sorted(self.faults.items())) or "none"
        rss = ", ".join(f"{k} {v:.0f}" for k, v in sorted(self.max_rss_mb.items()))
        rows = [
            ("load duration", f"{self.duration_s:.0f} s"),
            (
                "checks answered (rate)",
                f"{self.checks_ok} ({self.checks_ok / max(self.duration_s, 1):.1f}/s)",
            ),
            ("requests acknowledged (201)", str(self.requests_acked)),
            ("decisions acknowledged (200)", str(self.decisions_acked)),
            ("client retries (connection lost / 5xx)", str(self.client_retries)),
            ("faults injected", f"{sum(self.faults.values())}: {faults}"),
            (
                "bad inputs tried (refused 4xx / 5xx when healthy)",
                f"{self.bad_inputs} ({self.bad_inputs_refused_4xx} / {self.bad_inputs_5xx})",
            ),
            (
                "5xx answers to the load (retried), by state",
                ", ".join(f"{n}x {k}" for k, n in sorted(self.load_5xx.items())) or "none",
            ),
            (
                "5xx answers to bad inputs, by state",
                ", ".join(f"{n}x {k}" for k, n in sorted(self.server_errors.items())) or "none",
            ),
            (
                "actions created / delivered",
                f"{self.actions} / {self.actions - self.undelivered_actions}",
            ),
            (
                "deliveries received (duplicates)",
                f"{self.deliveries} ({self.duplicate_deliveries})",
            ),
            ("start-up / drain after load", f"{self.setup_s:.0f} s / {self.drain_s:.0f} s"),
            ("acknowledged requests missing", str(self.missing_requests)),
            ("acknowledged decisions without action", str(self.missing_actions)),
            ("actions not delivered", str(self.undelivered_actions)),
            (
                "audit chain",
                f"{'verifies' if self.audit_ok else 'BROKEN'} ({self.audit_events} events)",
            ),
            (f"max RSS per server, MB (bound {self.rss_bound_mb:.0f})", rss),
        ]
        width = max(len(r[0]) for r in rows)
        lines = [f"| {'figure'.ljust(width)} | value |", f"|{'-' * (width + 2)}|-------|"]
        lines += [f"| {k.ljust(width)} | {v} |" for k, v in rows]
        return "\n".join(lines)


class Cluster:
    """PostgreSQL, 2 servers (`serve --no-worker`), 2 workers and a webhook receiver; each can
    be killed and started again."""

    def __init__(
        self,
        root: Path,
        *,
        servers: int = 2,
        workers: int = 2,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.settings = settings or {}  # more RESCIND_* settings for every process
        # Durable settings (fsync, synchronous commit): a crash of the database must not lose
        # what it acknowledged.
        self.pg = PostgresCluster(durable=True)
        self.receiver = Receiver(SECRET)
        self.ports = [free_port() for _ in range(servers)]
        self.procs: dict[str, subprocess.Popen[bytes] | None] = {
            **{f"server{i}": None for i in range(servers)},
            **{f"worker{i}": None for i in range(workers)},
        }
        self.log = root / "rescind.log"
        self.env: dict[str, str] = {}
        self.db_url = ""
        self.lock = threading.Lock()
        self.db_down_since = self.db_up_again = -1e9

    @property
    def bases(self) -> list[str]:
        """Base URLs of the servers."""
        return [f"http://127.0.0.1:{p}" for p in self.ports]

    def start(self) -> tuple[str, str]:
        """Start everything; returns (platform key, staff key)."""
        self.pg.start()
        admin = create_engine(self.pg.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE rescind"))
        admin.dispose()
        self.db_url = self.pg.url("rescind")
        data = self.root / "data"
        settings = Settings(environment="test", data_dir=data, database_url=self.db_url)
        upgrade_database(settings)
        database = Database(settings)
        with database.session() as session:
            _, platform_key = create_api_key(session, "uploads", frozenset({"check", "content"}))
            _, staff_key = create_api_key(
                session, "staff", frozenset({"requests:write", "requests:read", "review"})
            )
        database.dispose()
        self.receiver.start()
        self.env = rescind_env(
            self.db_url,
            data,
            webhook_url=self.receiver.url,
            webhook_secret=SECRET,
            matcher_poll_s="0.5",
            worker_lease_s="3",
            web_processes="1",
            **self.settings,
        )
        for name in self.procs:
            self.launch(name)
        for base in self.bases:
            self.wait_ready(base)
        return platform_key, staff_key

    def launch(self, name: str) -> None:
        """Start process `name` (a server on its own fixed port, or a worker)."""
        if name.startswith("server"):
            port = self.ports[int(name.removeprefix("server"))]
            args = ["serve", "--no-worker", "--port", str(port)]
        else:
            args = ["worker"]
        with self.log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", CLI, *args], env=self.env, stdout=out, stderr=out
            )
        with self.lock:
            self.procs[name] = proc

    def kill(self, name: str) -> None:
        """SIGKILL process `name` and reap it."""
        with self.lock:
            proc = self.procs[name]
            self.procs[name] = None
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    def revive(self) -> None:
        """Start again any process that exited by itself (a server cannot start while the
        database is restarting)."""
        for name, proc in list(self.procs.items()):
            if proc is not None and proc.poll() is not None:
                self.launch(name)

    def restart_postgres(self) -> None:
        """Crash and restart the database (immediate mode: no checkpoint, recovery on start)."""
        self.db_down_since = time.monotonic()
        self.pg._run(
            str(self.pg.bin / "pg_ctl"),
            "-D",
            str(self.pg.data),
            "-m",
            "immediate",
            "-w",
            "-l",
            str(self.pg.root / "server.log"),
            "restart",
        )
        self.db_up_again = time.monotonic()

    def database_outage(self, grace_s: float = 3.0) -> bool:
        """Whether the database is restarting, or came back less than `grace_s` ago (pooled
        connections broken by the restart fail on their next use)."""
        return self.db_down_since > self.db_up_again or (
            time.monotonic() - self.db_up_again < grace_s
        )

    def wait_ready(self, base: str, timeout: float = 60) -> None:
        """Until `base/readyz` answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.revive()
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{base} not ready: {self.log.read_text()[-3000:]}")

    def rss_mb(self) -> dict[str, float]:
        """RSS of each running server (with its children), in MB."""
        sizes = {}
        with self.lock:
            servers = {n: p for n, p in self.procs.items() if n.startswith("server") and p}
        for name, proc in servers.items():
            try:
                top = psutil.Process(proc.pid)
                total = top.memory_info().rss
                total += sum(c.memory_info().rss for c in top.children(recursive=True))
            except psutil.Error:
                continue
            sizes[name] = total / 2**20
        return sizes

    def stop(self) -> None:
        """Stop everything and delete the database."""
        for name, proc in self.procs.items():
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            self.procs[name] = None
        self.receiver.stop()
        self.pg.stop()


class Load:
    """Client threads: checks, requests, decisions and bad inputs, failing over between servers."""

    def __init__(
        self, cluster: Cluster, platform_key: str, staff_key: str, figures: Figures, seed: int
    ) -> None:
        self.cluster = cluster
        self.figures = figures
        self.platform = [
            httpx.Client(
                base_url=b, headers={"Authorization": f"Bearer {platform_key}"}, timeout=10
            )
            for b in cluster.bases
        ]
        self.staff = [
            httpx.Client(base_url=b, headers={"Authorization": f"Bearer {staff_key}"}, timeout=10)
            for b in cluster.bases
        ]
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.checked: list[str] = []  # content ids answered by /v1/check
        self.reported: set[str] = set()  # content ids named by an acknowledged request
        self.requests: dict[str, str] = {}  # acknowledged case number -> content id
        self.undecided: list[str] = []
        self.decided: dict[str, str] = {}  # case number -> content id, decision acknowledged
        self.counter = 0

    def _call(
        self,
        clients: list[httpx.Client],
        method: str,
        path: str,
        *,
        give_up_s: float = 30,
        **kwargs: Any,
    ) -> httpx.Response | None:
        """One logical call: tries the servers in turn until one answers below 500."""
        deadline = time.monotonic() + give_up_s
        i = self.rng.randrange(len(clients))
        while time.monotonic() < deadline:
            try:
                response = clients[i % len(clients)].request(method, path, **kwargs)
                if response.status_code < 500:
                    return response
                where = "db outage" if self.cluster.database_outage() else "healthy"
                with self.lock:
                    self.figures.load_5xx[f"{response.status_code} {where}"] += 1
            except RETRYABLE:
                pass
            with self.lock:
                self.figures.client_retries += 1
            i += 1
            time.sleep(0.1)
        return None

    def _next_id(self) -> int:
        with self.lock:
            self.counter += 1
            return self.counter

    def check(self) -> None:
        n = self._next_id()
        content_id = f"r-{n}"
        body = {
            "content_id": content_id,
            "url": URL.format(n),
            "pdq": [f"{self.rng.getrandbits(256):064x}"],
        }
        response = self._call(self.platform, "POST", "/v1/check", json=body)
        if response is not None and response.status_code == 200:
            assert response.json()["verdict"] in ("allow", "review", "block"), response.text
            with self.lock:
                self.figures.checks_ok += 1
                self.checked.append(content_id)

    def submit(self) -> None:
        with self.lock:
            candidates = [c for c in self.checked[-200:] if c not in self.reported]
        if not candidates:
            return
        content_id = self.rng.choice(candidates)
        body = {
            "language": "en",
            "channel": "api",
            "requester": {"name": "Test Person", "email": "test.person@example.org"},
            "signature": "Test Person",
            "good_faith_statement": "This was shared without my consent (a test: no real image).",
            "items": [{"url": URL.format(content_id.removeprefix("r-")), "content_id": content_id}],
        }
        response = self._call(self.staff, "POST", "/v1/requests", json=body)
        if response is not None and response.status_code == 201:
            case = response.json()["case_number"]
            with self.lock:
                self.figures.requests_acked += 1
                self.requests[case] = content_id
                self.reported.add(content_id)
                self.undecided.append(case)

    def decide(self) -> None:
        with self.lock:
            if not self.undecided:
                return
            case = self.undecided.pop(0)
        response = self._call(
            self.staff,
            "POST",
            f"/v1/requests/{case}/decision",
            json={"outcome": "remove", "reason": "confirmed"},
        )
        if response is None:
            with self.lock:
                self.undecided.append(case)  # try again later
            return
        if response.status_code == 200:
            with self.lock:
                self.figures.decisions_acked += 1
                self.decided[case] = self.requests[case]
        elif response.status_code == 409:
            # An earlier try went through before its answer was lost: decided, not acknowledged.
            pass
        else:
            raise AssertionError(f"decision {case}: {response.status_code} {response.text}")

    BAD = (
        ("POST", "/v1/check", {"content": b"{not json"}),
        ("POST", "/v1/check", {"json": {"content_id": "x", "pdq": ["zz" * 32]}}),
        ("POST", "/v1/check", {"json": {"pdq": ["0" * 64]}}),
        ("POST", "/v1/requests", {"json": {"language": "en", "items": []}}),
        ("POST", "/v1/requests", {"json": {"language": "en", "channel": "api", "items": [{}]}}),
        ("POST", "/v1/requests/RSC-0000-0000-0000/decision", {"json": {"outcome": "explode"}}),
        ("GET", "/v1/requests/not-a-case", {}),
    )

    def bad_input(self) -> None:
        method, path, kwargs = self.rng.choice(self.BAD)
        clients = self.staff if "requests" in path else self.platform
        if self.rng.random() < 0.2:  # a wrong key
            kwargs = {**kwargs, "headers": {"Authorization": "Bearer rsk_wrong"}}
        try:
            response = clients[self.rng.randrange(len(clients))].request(method, path, **kwargs)
        except RETRYABLE:
            return  # the server was down: not a try
        with self.lock:
            self.figures.bad_inputs += 1
            if 400 <= response.status_code < 500:
                self.figures.bad_inputs_refused_4xx += 1
            elif response.status_code >= 500:
                # While the database restarts, the API answers 503 (retry; see docs/benchmarks.md):
                # counted apart; any other 5xx fails the run.
                where = "db outage" if self.cluster.database_outage() else "healthy"
                if where == "healthy":
                    self.figures.bad_inputs_5xx += 1
                self.figures.server_errors[f"{response.status_code} {where}"] += 1

    def loop(self, work: Any, pause_s: float) -> None:
        while not self.stopping.is_set():
            work()
            time.sleep(pause_s)

    def threads(self, rate_scale: float = 1.0) -> list[threading.Thread]:
        plan = [
            (self.check, 0.02 / rate_scale),
            (self.check, 0.02 / rate_scale),
            (self.submit, 0.15 / rate_scale),
            (self.decide, 0.15 / rate_scale),
            (self.bad_input, 0.1 / rate_scale),
        ]
        return [threading.Thread(target=self.loop, args=p, daemon=True) for p in plan]

    def close(self) -> None:
        for c in [*self.platform, *self.staff]:
            c.close()


def inject_faults(
    cluster: Cluster,
    figures: Figures,
    stop: threading.Event,
    every_s: float,
    rng: random.Random,
) -> None:
    """One fault every `every_s` on average, at random, until `stop`; a killed process or the
    dropped receiver comes back after a pause, while the next fault may already strike."""
    # Each round injects every kind once, in a random order: a short run still sees them all.
    kinds: list[str] = []
    comebacks: list[threading.Timer] = []

    def later(delay: float, fn: Any, *args: Any) -> None:
        timer = threading.Timer(delay, fn, args)
        timer.start()
        comebacks.append(timer)

    struck: set[str] = set()
    # On a slow machine a short load may end before every kind struck once: the rest of the
    # first round then follows at once (within a minute), so every run sees each kind.
    give_up = float("inf")
    while not stop.wait(rng.uniform(every_s * 0.75, every_s * 1.25)) or len(struck) < 4:
        if stop.is_set():
            give_up = min(give_up, time.monotonic() + 60)
            if time.monotonic() > give_up:
                break
            time.sleep(0.5)
        if not kinds:
            kinds = ["kill server", "kill worker", "restart postgres", "drop receiver"]
            rng.shuffle(kinds)
        kind = kinds.pop()
        if kind in ("kill server", "kill worker"):
            role = kind.removeprefix("kill ")
            running = [n for n, p in cluster.procs.items() if n.startswith(role) and p]
            if not running:
                kinds.insert(0, kind)
                continue
            name = rng.choice(running)
            cluster.kill(name)
            later(rng.uniform(0.2, 2.0), cluster.launch, name)
        elif kind == "restart postgres":
            cluster.restart_postgres()
        else:
            if cluster.receiver.listening:
                cluster.receiver.stop()
                later(rng.uniform(1.0, 4.0), cluster.receiver.start)
        figures.faults[kind] += 1
        struck.add(kind)
        cluster.revive()
    for timer in comebacks:
        timer.join()


def run(
    duration_s: float,
    *,
    fault_every_s: float = 4.0,
    drain_timeout_s: float = 120.0,
    rss_bound_mb: float = 600.0,
    seed: int = 22,
    root: Path | None = None,
) -> Figures:
    """Load for `duration_s` with faults, then drain and check; returns the figures."""
    root = root or Path(tempfile.mkdtemp(prefix="rescind-reliab-"))
    figures = Figures(rss_bound_mb=rss_bound_mb)
    cluster = Cluster(root)
    rng = random.Random(seed)
    try:
        begun = time.monotonic()
        platform_key, staff_key = cluster.start()
        figures.setup_s = time.monotonic() - begun
        load = Load(cluster, platform_key, staff_key, figures, seed)
        stop_faults = threading.Event()
        faults = threading.Thread(
            target=inject_faults,
            args=(cluster, figures, stop_faults, fault_every_s, rng),
            daemon=True,
        )
        workers = load.threads()
        started = time.monotonic()
        for t in [*workers, faults]:
            t.start()
        while time.monotonic() - started < duration_s:
            for name, mb in cluster.rss_mb().items():
                figures.max_rss_mb[name] = max(figures.max_rss_mb.get(name, 0.0), mb)
            time.sleep(1.0)
        stop_faults.set()
        faults.join()
        load.stopping.set()
        for t in workers:
            t.join(timeout=60)
        figures.duration_s = time.monotonic() - started
        # Everything back up: decide what is still undecided, then let deliveries drain.
        if not cluster.receiver.listening:
            cluster.receiver.start()
        for base in cluster.bases:
            cluster.wait_ready(base)
        while load.undecided:
            load.decide()
        load.close()
        drain_started = time.monotonic()
        _drain(cluster, figures, drain_timeout_s)
        figures.drain_s = time.monotonic() - drain_started
        _verify(cluster, load, figures)
        return figures
    finally:
        cluster.stop()
        if figures.lost == 0 and figures.audit_ok:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept for inspection: {root}", file=sys.stderr)


def _pending_actions(db_url: str) -> int:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            pending = conn.execute(
                text("SELECT count(*) FROM actions WHERE status NOT IN ('delivered', 'done')")
            ).scalar_one()
            return int(pending)
    finally:
        engine.dispose()


def _drain(cluster: Cluster, figures: Figures, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        cluster.revive()
        if _pending_actions(cluster.db_url) == 0:
            return
        time.sleep(0.5)


def _verify(cluster: Cluster, load: Load, figures: Figures) -> None:
    settings = Settings(
        environment="test", data_dir=cluster.root / "data", database_url=cluster.db_url
    )
    database = Database(settings)
    try:
        with database.session() as session:
            cases = set(session.scalars(select(Request.case_number)))
            actions = list(session.scalars(select(Action)))
            request_ids = {
                c: i for c, i in session.execute(select(Request.case_number, Request.id))
            }
    finally:
        database.dispose()
    figures.missing_requests = len(set(load.requests) - cases)
    by_case = {(a.request_id, a.content_id) for a in actions}
    figures.missing_actions = sum(
        1
        for case, content in load.decided.items()
        if (request_ids.get(case), content) not in by_case
    )
    received = Counter(cluster.receiver.keys())
    figures.actions = len(actions)
    figures.deliveries = sum(received.values())
    figures.duplicate_deliveries = figures.deliveries - len(received)
    figures.undelivered_actions = sum(1 for a in actions if a.idempotency_key not in received)
    verify = subprocess.run(
        [sys.executable, "-c", CLI, "audit", "verify"],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    figures.audit_ok = verify.returncode == 0
    words = verify.stdout.split()
    figures.audit_events = int(words[1]) if figures.audit_ok and len(words) > 1 else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument(
        "--fault-every", type=float, default=6.0, help="mean seconds between faults"
    )
    parser.add_argument("--rss-bound-mb", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args()
    figures = run(
        args.duration,
        fault_every_s=args.fault_every,
        rss_bound_mb=args.rss_bound_mb,
        seed=args.seed,
        drain_timeout_s=300,
    )
    print(figures.table())
    ok = (
        figures.lost == 0
        and figures.audit_ok
        and all(v <= figures.rss_bound_mb for v in figures.max_rss_mb.values())
        and figures.bad_inputs_5xx == 0
    )
    print("RESULT:", "nothing lost" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
