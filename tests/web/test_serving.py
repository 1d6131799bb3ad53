"""`rescind serve`'s HTTP protocol: a response leaves in one write in the event loop's next
round, nothing is held longer than that, and HTTP behaves as with uvicorn's own protocol."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx
import pytest
import uvloop
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from rescind.web.serving import StepWriteTransport
from tests.e2e.servers import serve_in_thread


class _Peer(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport


@asynccontextmanager
async def _connected() -> AsyncIterator[tuple[StepWriteTransport, socket.socket, list[Any]]]:
    """A StepWriteTransport over a real uvloop TCP transport, the socket at the other end, and
    the errors the loop reports. Both ends are closed afterwards, whatever happened (uvloop
    hangs closing a loop with an open transport when warnings are errors)."""
    loop = asyncio.get_running_loop()
    errors: list[Any] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        ours = socket.create_connection(listener.getsockname())
        theirs, _ = listener.accept()
    theirs.setblocking(False)
    transport, _ = await loop.create_connection(_Peer, sock=ours)
    try:
        yield StepWriteTransport(cast(asyncio.Transport, transport), loop), theirs, errors
    finally:
        theirs.close()
        if not transport.is_closing():
            transport.abort()
        await asyncio.sleep(0)


def _readable(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except BlockingIOError:
        return b""


def _run(test: Callable[[], Awaitable[None]]) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(test())


def test_the_writes_of_one_step_leave_together_after_the_step() -> None:
    async def test() -> None:
        async with _connected() as (transport, peer, errors):
            transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
            transport.write(bytearray(b"{}"))
            assert _readable(peer) == b""  # still this step: nothing written yet
            await asyncio.sleep(0.05)
            assert _readable(peer) == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
            transport.writelines([b"a", memoryview(b"b")])
            await asyncio.sleep(0.05)
            assert _readable(peer) == b"ab"
            assert errors == []

    _run(test)


def test_close_writes_what_is_queued_first_and_abort_drops_it() -> None:
    async def test() -> None:
        async with _connected() as (transport, peer, _):
            transport.write(b"last words")
            transport.close()
            await asyncio.sleep(0.05)
            assert _readable(peer) == b"last words"
            assert _readable(peer) == b""  # end of stream
        async with _connected() as (transport, peer, _):
            transport.write(b"never sent")
            transport.abort()
            await asyncio.sleep(0.05)
            assert _readable(peer) == b""

    _run(test)


def test_a_write_queued_for_a_peer_that_left_is_dropped_quietly() -> None:
    async def test() -> None:
        async with _connected() as (transport, peer, errors):
            peer.close()
            await asyncio.sleep(0.05)  # the loop sees the end of the connection
            transport.write(b"to nobody")
            await asyncio.sleep(0.05)
            assert errors == []
            assert transport.get_write_buffer_size() == 0

    _run(test)


# ---- through uvicorn -----------------------------------------------------------------------

released = threading.Event()


async def _json(request: Request) -> Response:
    return JSONResponse({"path": request.url.path, "body": (await request.body()).decode()})


async def _chunks() -> AsyncIterator[bytes]:
    for i in range(3):
        await asyncio.sleep(0.01)
        yield f"chunk {i}\n".encode()


async def _stream(request: Request) -> Response:
    return StreamingResponse(_chunks(), media_type="text/plain")


async def _then_work(request: Request) -> Response:
    # The app returns only after its background task: the answer must not wait for it.
    return JSONResponse({"ok": True}, background=BackgroundTask(_wait_for_test))


async def _wait_for_test() -> None:
    await asyncio.to_thread(released.wait, 10)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/json", _json, methods=["GET", "POST", "HEAD"]),
            Route("/stream", _stream),
            Route("/then-work", _then_work),
        ]
    )
    with serve_in_thread(app, loop="uvloop") as base:
        try:
            yield base
        finally:
            released.set()


def test_keep_alive_requests_get_whole_answers(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=5) as http:
        for i in range(20):
            answer = http.post("/json", content=f"n={i}")
            assert answer.status_code == 200
            assert answer.json() == {"path": "/json", "body": f"n={i}"}
        head = http.head("/json")
        assert head.status_code == 200 and head.content == b""
        assert http.get("/json").json()["path"] == "/json"  # the connection still works


def test_pipelined_requests_are_answered_in_order(base_url: str) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"GET /json HTTP/1.1\r\nhost: x\r\n\r\n"
            b"POST /json HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc"
            b"GET /json HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        )
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.count(b"HTTP/1.1 200 OK") == 3
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in received.split(b"HTTP/1.1 ")[1:]]
    assert bodies == [
        b'{"path":"/json","body":""}',
        b'{"path":"/json","body":"abc"}',
        b'{"path":"/json","body":""}',
    ]


def test_a_streamed_answer_arrives_whole(base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=5) as http:
        answer = http.get("/stream")
    assert answer.text == "chunk 0\nchunk 1\nchunk 2\n"


def test_an_answer_does_not_wait_for_the_apps_background_work(base_url: str) -> None:
    released.clear()
    try:
        with httpx.Client(base_url=base_url, timeout=5) as http:
            assert http.get("/then-work").json() == {"ok": True}
    finally:
        released.set()
