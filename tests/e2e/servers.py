"""Real Rescind servers for end-to-end tests: `rescind serve` and `rescind worker` processes,
and an app under uvicorn in a thread of the test process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp

from rescind.web.serving import HTTP_PROTOCOL
from tests.pg import free_port

CLI = "from rescind.cli import app; app()"


def rescind_env(db_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """Environment for a child process: the database plus `RESCIND_*` overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESCIND_")}
    env |= {
        "RESCIND_ENVIRONMENT": "test",
        "RESCIND_DATABASE_URL": db_url,
        "RESCIND_DATA_DIR": str(data_dir),
        # webhook receivers in tests listen on loopback (refused unless allowed)
        "RESCIND_WEBHOOK_ALLOW_PRIVATE": "true",
    }
    env |= {f"RESCIND_{k.upper()}": v for k, v in settings.items()}
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `rescind ARGS...` with output to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-c", CLI, *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def serve(env: dict[str, str], log: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """`rescind serve` on a free port; returns the process and its base URL once ready."""
    port = free_port()
    proc = start(["serve", "--port", str(port), *extra], env, log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not become ready")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate and reap a child process."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def serve_in_thread(app: ASGIApp, port: int | None = None, **config: Any) -> Iterator[str]:
    """`app` under uvicorn with the HTTP protocol `rescind serve` runs, in a thread of this
    process, on `port` (a free one by default); yields its base URL once it listens."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", http=HTTP_PROTOCOL, **config
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
