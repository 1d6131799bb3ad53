"""A real webhook receiver for tests: an HTTP server on a loopback port that verifies each
delivery with the client helper, records it, and can fail or go away on demand."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rescind.client import WebhookVerificationError, verify_signature
from tests.pg import free_port


class Receiver:
    """Start/stop on a fixed port; `fail_with` makes it answer that status instead of 204."""

    def __init__(self, secret: str | list[str], port: int | None = None) -> None:
        self.secret = secret
        self.port = port or free_port()
        self.deliveries: list[dict[str, Any]] = []  # verified bodies, in arrival order
        # The raw body and headers of each verified delivery, in the same order.
        self.raw: list[tuple[bytes, dict[str, str]]] = []
        self.rejected = 0
        self.fail_with: int | None = None
        self.delay_s = 0.0  # answer this late (after recording): lets a test kill the sender
        self.arrived = threading.Event()  # set on each recorded delivery
        # Run after recording a delivery, before answering: lets a test break the sender's
        # world (its database) in the middle of a delivery.
        self.on_delivery: Callable[[], None] | None = None
        # The JSON body to answer a delivery with (200), e.g. {"outcome": "removed"}: the
        # platform confirming by its answer. None: an empty 204 (delivered only).
        self.answer: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """Where to send webhooks."""
        return f"http://127.0.0.1:{self.port}/hooks/rescind"

    @property
    def listening(self) -> bool:
        """Whether it is up (between `start` and `stop`)."""
        return self._server is not None

    def start(self) -> None:
        """Listen (again) on the port."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    verify_signature(receiver.secret, self.headers.get("Rescind-Signature"), body)
                except WebhookVerificationError:
                    with receiver._lock:
                        receiver.rejected += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                if receiver.fail_with:
                    self.send_response(receiver.fail_with)
                    self.end_headers()
                    return
                event = json.loads(body)
                with receiver._lock:
                    receiver.deliveries.append(event)
                    receiver.raw.append((body, dict(self.headers.items())))
                receiver.arrived.set()
                if receiver.on_delivery is not None:
                    receiver.on_delivery()
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                answer = receiver.answer(event) if receiver.answer is not None else None
                if answer is None:
                    self.send_response(204)
                    self.end_headers()
                    return
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop listening: deliveries get connection errors."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def keys(self) -> list[str]:
        """Idempotency keys received, in order."""
        with self._lock:
            return [d["idempotency_key"] for d in self.deliveries]
