"""Real headless Chromium against a real server (uvicorn in a thread) on a SQLite database,
with a local SMTP server catching the emails."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from rescind.cases.users import create_user
from rescind.config import Settings
from rescind.store import Database
from rescind.web import create_app
from tests.cases.support import SmtpServer, run_jobs
from tests.e2e.servers import serve_in_thread
from tests.pg import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
REVIEWER_PASSWORD = "correct horse battery staple"
# A 1x1 grey PNG: stands in for reported media (never real imagery).
PIXEL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b55"
    "0000000a49444154789c6368000000820081dd436af40000000049454e44ae426082"
)


class _Media(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PIXEL_PNG)))
        self.end_headers()
        self.wfile.write(PIXEL_PNG)

    def log_message(self, *args: Any) -> None:
        return


@dataclass
class Live:
    """The running service as a browser sees it."""

    base_url: str
    media_url: str
    settings: Settings
    database: Database
    smtp: SmtpServer

    def run_jobs(self) -> int:
        """Let the worker send what is queued (emails)."""
        return run_jobs(self.settings, self.database)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Live]:
    """Server + SMTP + a media host, for one test module."""
    root = tmp_path_factory.mktemp("live")
    db_path = root / "rescind.db"
    shutil.copyfile(sqlite_template, db_path)
    smtp = SmtpServer()
    smtp.start()
    media = ThreadingHTTPServer(("127.0.0.1", 0), _Media)
    media_origin = f"http://127.0.0.1:{media.server_address[1]}"
    threading.Thread(target=media.serve_forever, daemon=True).start()
    port = free_port()
    settings = smtp.settings(
        Settings(
            environment="test",
            data_dir=root,
            database_url=f"sqlite:///{db_path}",
            public_base_url=f"http://127.0.0.1:{port}",
            console_media_origins=media_origin,
            submissions_per_ip_per_hour=100,
            webhook_allow_private=True,  # the webhook receiver listens on loopback
        )
    )
    database = Database(settings)
    with database.session() as session:
        create_user(session, "rita", REVIEWER_PASSWORD, "reviewer", email="rita@example.org")
    try:
        with serve_in_thread(create_app(settings, database=database), port, lifespan="on") as base:
            yield Live(base, f"{media_origin}/item.png", settings, database, smtp)
    finally:
        media.shutdown()
        media.server_close()
        smtp.stop()
        database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make system-deps)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page; fails the test on any CSP violation."""
    context = browser.new_context(locale="en-US")
    tab = context.new_page()
    violations: list[str] = []
    tab.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    yield tab
    context.close()
    assert violations == []
