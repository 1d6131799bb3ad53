"""The HTTP protocol `rescind serve` runs: uvicorn's, with each response sent in one piece.

uvicorn writes a response's status line and headers, then its body, each straight to the socket
(uvloop tries every write at once). On loopback and on a busy server that is two TCP segments
and two wake-ups of the client per response: for `/v1/check`, where the work per request is a
fraction of a millisecond, about a tenth of the event loop went into the first write alone.
Here writes are gathered and written together by a callback the loop runs in its next round
(`call_soon`), so a response whose head and body are sent in one step of its task (every JSON
answer) leaves in one write. Nothing is held longer than that round; closing writes what is
gathered first, aborting drops it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

Buffer = bytes | bytearray | memoryview
# uvicorn's `http` option naming `HttpProtocol` (a string: server processes import it).
HTTP_PROTOCOL = "rescind.web.serving:HttpProtocol"


class StepWriteTransport:
    """A transport that writes what it is given once per round of the event loop.

    Everything but writing and closing is the wrapped transport's own (flow control included:
    at most one round's writes are held here)."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: Buffer) -> None:
        """Queue `data`; it is written with whatever else is queued in the loop's next round."""
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        # A copy unless it is bytes: the caller may reuse its buffer once write returns.
        self._pending.append(data if type(data) is bytes else bytes(data))

    def writelines(self, lines: Iterable[Buffer]) -> None:
        """Queue each of `lines` in turn."""
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        if self._transport.is_closing():
            return  # the peer is gone (or it was aborted): there is nobody to write to
        self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        """Write what is queued, then close."""
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        """Write what is queued, then half-close."""
        self._flush()
        self._transport.write_eof()

    def abort(self) -> None:
        """Close at once, dropping what is queued."""
        self._pending = []
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        """Bytes not yet written: queued here, and buffered by the transport."""
        return self._transport.get_write_buffer_size() + sum(len(d) for d in self._pending)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a `StepWriteTransport`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Take the connection, through a transport that writes once per round."""
        wrapped: Any = StepWriteTransport(cast(asyncio.Transport, transport), self.loop)
        super().connection_made(wrapped)
