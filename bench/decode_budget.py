"""Decode budget: three concurrent `/v1/check`s of a 10,900 x 11,000 PNG against one server.

The picture (issue 22) is grey and mostly flat with a noisy row every 40: ~3 MB, ~40 pixels
per byte, so the pixels-per-byte rule lets it through and only the memory budget stands
between it and the decoder. A `rescind serve` (one process, no worker, SQLite) gets three
checks of it at once plus, meanwhile, small checks of a 1080p JPEG; the table gives each
big check's status and time, the small checks' latency, the server's peak RSS (VmHWM) and
CPU time. `--before` runs the server with the budget out of the way
(RESCIND_MEDIA_DECODE_MEMORY_MB and RESCIND_MEDIA_MEMORY_BUDGET_MB at 65,536), as it was
before the budget; `--allow-big` lets one such decode in (2,048 MiB a decode, the default
2,560 in all), so the second waits for memory while small checks go on.

Run: ``PYTHONPATH=src .venv/bin/python bench/decode_budget.py [--before | --allow-big]``
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import struct
import sys
import tempfile
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.platform_api import _database, _family, _server_cpu  # noqa: E402
from tests.e2e.servers import rescind_env, serve, stop  # noqa: E402

from rescind.platform.apikeys import create_api_key  # noqa: E402

WIDTH, HEIGHT = 10_900, 11_000


def big_png() -> bytes:
    """8-bit grey, one flat level with a row of noise every 40 rows (made row by row)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rng = np.random.default_rng(22)
    flat = b"\x00" + bytes([96]) * WIDTH
    packer = zlib.compressobj(6)
    parts = []
    for y in range(HEIGHT):
        noisy = y % 40 == 0
        row = b"\x00" + rng.integers(0, 256, WIDTH, dtype=np.uint8).tobytes() if noisy else flat
        parts.append(packer.compress(row))
    parts.append(packer.flush())
    ihdr = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", b"".join(parts))
        + chunk(b"IEND", b"")
    )


def small_jpeg() -> bytes:
    import skimage.data
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(skimage.data.astronaut()).resize((1920, 1080)).save(out, "JPEG", quality=90)
    return out.getvalue()


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", action="store_true", help="no memory budget")
    parser.add_argument(
        "--allow-big",
        action="store_true",
        help="a decode may use 2,048 MiB (the PNG fits), all together the default 2,560",
    )
    opts = parser.parse_args()
    big, small = big_png(), small_jpeg()
    tmp = Path(tempfile.mkdtemp(prefix="rescind-bench-"))
    settings, db = _database(tmp)
    with db.session() as session:
        _, key = create_api_key(session, "bench", frozenset({"check"}))
    extra = {}
    if opts.before:
        extra = {"media_decode_memory_mb": "65536", "media_memory_budget_mb": "65536"}
    elif opts.allow_big:
        extra = {"media_decode_memory_mb": "2048"}
    env = rescind_env(settings.sqlalchemy_url, tmp, **extra)
    proc, base = serve(env, tmp / "server.log", "--no-worker")
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=300
        ) as http:

            def check(name: str, data: bytes) -> tuple[int, float, str]:
                t = time.perf_counter()
                r = http.post("/v1/check", data={"content_id": name}, files={"media": ("a", data)})
                detail = r.json().get("detail", "") if r.status_code != 200 else ""
                return r.status_code, time.perf_counter() - t, detail

            for i in range(3):  # warm up
                assert check(f"w{i}", small)[0] == 200
            pids = _family(proc.pid)
            rss = max(_status_kb(p, "VmRSS:") for p in pids)
            for p in pids:
                Path(f"/proc/{p}/clear_refs").write_text("5")
            cpu = _server_cpu(pids)
            done = threading.Event()
            small_times: list[float] = []
            small_statuses: list[int] = []

            def small_checks() -> None:
                i = 0
                while not done.is_set():
                    status, seconds, _ = check(f"s{i}", small)
                    small_statuses.append(status)
                    if status == 200:
                        small_times.append(seconds)
                    else:
                        time.sleep(0.5)  # a 503: come back shortly, as a platform would
                    i += 1

            watcher = threading.Thread(target=small_checks)
            started = time.perf_counter()
            watcher.start()
            with ThreadPoolExecutor(3) as pool:
                results = list(pool.map(lambda i: check(f"b{i}", big), range(3)))
            wall = time.perf_counter() - started
            done.set()
            watcher.join()
            cpu = _server_cpu(pids) - cpu
            peak = max(_status_kb(p, "VmHWM:") for p in pids)
    finally:
        stop(proc)
        db.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    label = "before (no budget)" if opts.before else "after (defaults)"
    if opts.allow_big:
        label = "after, 2,048 MiB a decode"
    print(f"{label}: {len(big):,} byte PNG")
    for status, seconds, detail in results:
        print(f"  big check: {status} in {seconds:.2f} s {detail[:90]}")
    print(
        f"  server RSS before {rss / 1024:.0f} MB, peak {peak / 1024:.0f} MB; "
        f"server CPU {cpu:.1f} s; wall {wall:.1f} s"
    )
    answered = (
        f", answered in median {statistics.median(small_times) * 1000:.0f} ms, max "
        f"{max(small_times) * 1000:.0f} ms"
        if small_times
        else ""
    )
    print(
        f"  small checks meanwhile: {len(small_statuses)}, {small_statuses.count(200)} "
        f"answered, {small_statuses.count(503)} told to retry (503){answered}"
    )
    print(f"  load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
