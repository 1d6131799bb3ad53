"""What `/metrics` exposes (route in `rescind.web.health`): check verdicts and latency, matcher
and outbox state.

Each app has its own collector registry (no process-global metrics), so tests and several apps
in one process never share counters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from rescind.platform.runtime import PlatformRuntime
from rescind.store import Database
from rescind.store.models import Action

log = logging.getLogger("rescind.web")


class _StateCollector(Collector):
    """Gauges read when scraped: matcher size and age, registry index size, outbox by status."""

    def __init__(self, runtime: PlatformRuntime, db: Database) -> None:
        self.runtime = runtime
        self.db = db

    def collect(self) -> Iterator[Metric]:
        matcher = self.runtime.matcher
        entries = GaugeMetricFamily("rescind_bank_entries", "Active bank entries in this process.")
        entries.add_metric([], matcher.size)
        yield entries
        age = GaugeMetricFamily(
            "rescind_matcher_age_seconds", "Seconds since this process last synced the banks."
        )
        age.add_metric([], time.monotonic() - matcher.synced_at if matcher.loaded else -1)
        yield age
        registry = GaugeMetricFamily(
            "rescind_registry_index_hashes", "Registry hashes indexed in this process."
        )
        registry.add_metric([], len(self.runtime.registry.index))
        yield registry
        writer = self.runtime.writer
        writes = CounterMetricFamily(
            "rescind_registry_writes", "Registry writes from checks, and their group commits."
        )
        writes.add_metric([], writer.items)
        yield writes
        commits = CounterMetricFamily("rescind_registry_commits", "Group commits of checks.")
        commits.add_metric([], writer.batches)
        yield commits
        outbox = GaugeMetricFamily("rescind_actions", "Actions by status.", labels=["status"])
        try:
            with self.db.session() as session:
                rows = session.execute(select(Action.status, func.count()).group_by(Action.status))
                for status, count in rows:
                    outbox.add_metric([status], count)
        except Exception as exc:  # a scrape must not fail because the database is away
            log.warning("metrics: outbox query failed: %s", type(exc).__name__)
        yield outbox


class PlatformMetrics:
    """The app's metrics."""

    def __init__(self, runtime: PlatformRuntime, db: Database) -> None:
        self.registry = CollectorRegistry()
        self.checks = Counter(
            "rescind_checks", "Checks answered, by verdict.", ["verdict"], registry=self.registry
        )
        self.check_seconds = Histogram(
            "rescind_check_seconds",
            "Time to answer a check (hashes or media).",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
        self.fast_checks = Counter(
            "rescind_checks_fast_path",
            "Checks answered by the hot path (JSON hashes, key verified recently).",
            registry=self.registry,
        )
        self.registry.register(_StateCollector(runtime, db))

    def observe_check(self, verdict: str, seconds: float, *, fast: bool = False) -> None:
        """Count one answered check."""
        self.checks.labels(verdict).inc()
        self.check_seconds.observe(seconds)
        if fast:
            self.fast_checks.inc()
