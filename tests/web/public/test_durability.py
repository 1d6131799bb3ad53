"""A confirmation is only shown for a committed request: kill the server (SIGKILL) right after
one was shown, start it again, and the request is there."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from rescind.config import Settings
from tests.pg import free_port
from tests.web.public.support import csrf_of, shown_codes, tokens_of, valid_form


@contextmanager
def _server(settings: Settings, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "RESCIND_ENVIRONMENT": "test",
        "RESCIND_DATABASE_URL": settings.sqlalchemy_url,
        "RESCIND_DATA_DIR": str(settings.data_dir),
    }
    rescind = Path(sys.executable).parent / "rescind"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(rescind), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError(f"server did not start:\n{log.read_text()[-3000:]}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


@pytest.mark.slow
def test_request_survives_sigkill_right_after_confirmation(
    sqlite_template: Path, tmp_path: Path
) -> None:
    # SQLite only: the embedded store is where durability is ours to get right (WAL,
    # synchronous=FULL); the test PostgreSQL cluster runs with fsync off anyway.
    shutil.copyfile(sqlite_template, tmp_path / "rescind.db")
    settings = Settings(
        environment="test", data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'rescind.db'}"
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with _server(settings, port, log) as proc, httpx.Client(base_url=base) as browser:
        token = tokens_of(browser.get("/?lang=fr").text)
        page = browser.post("/", data=valid_form(token), follow_redirects=True)
        assert page.status_code == 200
        proc.send_signal(signal.SIGKILL)  # no shutdown, no flush: only what was committed
        proc.wait(timeout=10)
        codes = shown_codes(page.text)
        assert codes
        number, secret = codes
    with _server(settings, port, log), httpx.Client(base_url=base) as browser:
        token = csrf_of(browser.get("/status").text)
        page = browser.post(
            "/status",
            data={"csrf_token": token, "case_number": number, "secret": secret},
        )
        assert page.status_code == 200 and 'data-status="received"' in page.text
