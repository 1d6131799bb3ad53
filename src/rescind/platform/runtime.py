"""Per-process platform state: the matcher and the registry index of one database.

Whoever builds a process that checks or sweeps (`create_app`, through
`rescind.services.build_services`) creates its `PlatformRuntime` and hands it to the services
that need it (the removal enforcer's sweep, the check routes); there is no registry of
runtimes to look one up. A poller thread keeps both current.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from rescind.config import Settings
from rescind.index import warm_up as index_warm_up
from rescind.media import warm_up as media_warm_up
from rescind.platform.decode_gate import DecodeGate
from rescind.platform.errors import DecodeBusyError
from rescind.platform.matcher import Matcher
from rescind.platform.media_signals import (
    bank_signals_from_media,
    decode_cost,
    media_limits,
    signals_from_media,
)
from rescind.platform.registry_index import RegistryIndex
from rescind.platform.registry_writer import RegistryWriter
from rescind.platform.signals import Signals

log = logging.getLogger("rescind.platform")

MIB = 1024**2


class PlatformRuntime:
    """The matcher and registry index of one database, with the thread that keeps them fresh."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.matcher = Matcher(settings)
        self.registry = RegistryIndex()
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.writer = RegistryWriter(self._sessions)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._users = 0
        self._lock = threading.Lock()
        # Set once the matching and hashing kernels are compiled or loaded (see `_compile`).
        self.ready = threading.Event()
        # Decoding is where a hostile upload spends memory and CPU (a large picture costs
        # hundreds of MB): a few at a time within a memory budget, the others told to come back.
        self.decodes = DecodeGate(
            settings.media_decode_concurrency, settings.media_memory_budget_mb * MIB
        )
        self.media_limits = media_limits(
            settings.max_upload_bytes, settings.media_decode_memory_mb * MIB
        )

    @contextmanager
    def decode_slot(self, cost: int = 0) -> Iterator[None]:
        """Hold one of `media_decode_concurrency` decode slots and `cost` bytes of
        `media_memory_budget_mb`, waiting at most `media_decode_wait_s` for both
        (DecodeBusyError then)."""
        if not self.decodes.acquire(cost, self.settings.media_decode_wait_s):
            if self.decodes.free_slots == 0:
                held = f"all {self.decodes.slots} decode slots"
            else:
                held = f"the {self.settings.media_memory_budget_mb} MiB memory budget"
            raise DecodeBusyError(
                f"media uploads being decoded hold {held} (this one needs about "
                f"{-(-cost // MIB)} MiB); retry shortly"
            )
        try:
            yield
        finally:
            self.decodes.release(cost)

    def hash_media(self, data: bytes, *, bank: bool = False) -> Signals:
        """The signals of an uploaded file: `signals_from_media` (or, with `bank`,
        `bank_signals_from_media`) within this server's limits. Its memory is estimated from
        the header first (MediaError, nothing decoded, over `media_decode_memory_mb`), then
        reserved with a decode slot for the decode (DecodeBusyError when they are not free
        within `media_decode_wait_s`)."""
        cost = decode_cost(data, self.media_limits, bank=bank)
        with self.decode_slot(cost):
            if bank:
                return bank_signals_from_media(data, self.media_limits)
            return signals_from_media(data, self.media_limits)

    def fresh(self, max_age_s: float | None = None) -> bool:
        """Whether the matcher is loaded and was synced within `max_age_s` (default: two
        poll intervals, so a healthy poller keeps it fresh)."""
        limit = self.settings.matcher_poll_s * 2 if max_age_s is None else max_age_s
        return self.matcher.loaded and time.monotonic() - self.matcher.synced_at < limit

    def refresh(self, *, max_age_s: float | None = None) -> None:
        """Sync the matcher (and the registry index once loaded) if older than `max_age_s`."""
        if self.fresh(max_age_s):
            return
        with self._sessions() as session:
            self.matcher.try_sync(session)

    def sync_all(self, session: Session | None = None) -> None:
        """Sync the matcher and, if loaded, the registry index now."""
        if session is None:
            with self._sessions() as own:
                self.sync_all(own)
            return
        self.matcher.sync(session)
        if self.registry.loaded:
            self.registry.sync(session)
            session.rollback()  # end the read transaction: do not pin an old snapshot

    def _compile(self) -> None:
        # Every kernel a check, a sweep or a media upload runs, compiled (first install) or
        # loaded from numba's cache before the server says it is ready (`ready`, `/readyz`).
        try:
            index_warm_up()
            media_warm_up()
        except Exception as exc:  # never keep a server from serving: it compiles on use then
            log.warning("kernel warm-up failed: %s", type(exc).__name__)
        self.ready.set()

    def _poll(self, warm_registry: bool) -> None:
        self._compile()
        first = True
        while not self._stop.is_set():
            try:
                with self._sessions() as session:
                    self.matcher.sync(session)
                    if (warm_registry and first) or self.registry.loaded:
                        self.registry.sync(session)
                if first:
                    self._warm_up()
                    _settle_heap()
                first = False
            except Exception as exc:  # the database may be briefly away: keep polling
                log.warning("platform sync failed: %s", type(exc).__name__)
            self._stop.wait(self.settings.matcher_poll_s)

    def _warm_up(self) -> None:
        # The first search of a process loads (or compiles) the index kernels: pay it here,
        # not in the first check or sweep.
        matcher = self.matcher
        for index in (matcher.images, matcher.cuts, matcher.frames, self.registry.index):
            if len(index):
                index.search_one("0" * 64, 0)

    def start(self, *, warm_registry: bool = True) -> None:
        """Start the poller (counted: each `start` needs a `stop`)."""
        with self._lock:
            self._users += 1
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._poll, args=(warm_registry,), name="rescind-matcher", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the poller when its last user stops."""
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users or self._thread is None:
                return
            thread, self._thread = self._thread, None
            self._stop.set()
        thread.join(timeout=30)


def _settle_heap() -> None:
    """Take what the first load built out of the cyclic garbage collector's sight.

    A bank's entries are millions of small objects that live as long as the process; each
    full collection walks them all (150 ms at 100k entries here, stopping every thread),
    which is what a server's slowest checks were waiting on. `gc.freeze` leaves them to
    reference counting alone; garbage already there is collected first."""
    gc.collect()
    gc.freeze()
