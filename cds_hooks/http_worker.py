"""A gunicorn worker that reads each request completely before a thread serves it.

gunicorn's threaded worker hands a connection to a thread as soon as its first byte arrives;
the thread then blocks while the rest of the headers and the body trickle in. A client that
sends one byte a second holds a thread for as long as it likes, and a handful of such clients
holds them all (``/healthz`` included).

:class:`BufferingWorker` reads in the worker's main loop instead, without blocking: the bytes
of a request are collected as they arrive, and only when the header block and a
``Content-Length`` body are complete is the connection given to a thread, with those bytes
already buffered in its parser. A slow client costs a connection slot and a buffer; it is
dropped when its request has not arrived within :data:`request_read_timeout_s`. A chunked body
is decoded here as it arrives (:mod:`cds_hooks.chunked`) and handed over as a Content-Length
request, so the read timeout and the body size limit apply to it too: past the limit the rest
is read and discarded, and the application answers 413 (the request is rewritten with a
Content-Length over the limit and no body). Framing that is not HTTP/1.1 (a malformed chunk,
both Content-Length and Transfer-Encoding, a transfer coding other than chunked) is answered
here with a typed 400 and the connection is closed; it is counted in ``cds_requests_total``
with ``endpoint="bad-framing"`` (the application never sees it), as are the requests gunicorn's
parser refuses (a malformed request line or header: 400; over its limits: 414, 431). Requests
whose headers are over the limit, or whose Content-Length body is over the size limit, are
handed over as soon as their headers are in, and the parser or the application answers.

On SIGTERM the worker first accepts every connection already waiting in the listen queue, so
the graceful shutdown serves them instead of resetting them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import selectors
import socket
import time
from functools import partial
from typing import Any

import orjson
from gunicorn import http
from gunicorn.http import errors as http_errors
from gunicorn.workers.gthread import TConn, ThreadWorker

from cds_hooks import accept_balance
from cds_hooks.chunked import ChunkedBody, ChunkError
from cds_hooks.errors import InvalidRequest
from cds_hooks.observability import REQUESTS

#: Longest time a request may take to arrive, headers and body (nginx's client timeouts are
#: 60 s each by default; an EHR on a hospital network sends a hook call in milliseconds). Set
#: from ``CDS_REQUEST_READ_TIMEOUT_S`` by :func:`cds_hooks.server.gunicorn_options`.
request_read_timeout_s = 10.0
#: Largest header block buffered before the parser decides (it refuses what is over its limits).
MAX_HEADER_BYTES = 64 * 1024
READ_CHUNK = 256 * 1024
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
#: The ``endpoint`` label of the requests this worker answers itself (bad framing): no route
#: was matched, since the request never reached the application.
FRAMING_ENDPOINT = "bad-framing"
#: Bodies above this are handed over unread (the application answers 413); set from
#: ``CDS_MAX_BODY_BYTES`` by :func:`cds_hooks.server.gunicorn_options` before the fork.
max_body_bytes = 5_000_000


class _Reading:
    """The bytes of one request collected so far, and when it must have arrived."""

    __slots__ = (
        "body_length",
        "buffer",
        "chunked",
        "continue_sent",
        "continued",
        "deadline",
        "header_end",
    )

    def __init__(self, deadline: float) -> None:
        self.buffer = bytearray()
        self.deadline = deadline
        self.header_end = -1
        self.body_length: int | None = None
        self.continued = False
        self.continue_sent = False
        self.chunked: ChunkedBody | None = None


#: What gunicorn's ``handle_error`` answers a request its parser refused: 400 unless listed.
_PARSER_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (http_errors.LimitRequestLine, 414),
    (http_errors.LimitRequestHeaders, 431),
    (http_errors.ExpectationFailed, 417),
    (http_errors.ForbiddenProxyRequest, 403),
    (http_errors.UnsupportedTransferCoding, 501),
    (http_errors.ConfigurationProblem, 500),
)


def parser_status(exc: BaseException) -> int | None:
    """The status gunicorn answers for a request its parser refused (``None``: ``exc`` is not
    the client's parse error, e.g. an application error while writing the response)."""
    if not isinstance(exc, http_errors.ParseException) or isinstance(
        exc, (http_errors.InvalidResponseHeader, http_errors.InvalidResponseHeaderName)
    ):
        return None
    return next((status for kind, status in _PARSER_STATUS if isinstance(exc, kind)), 400)


class BadFraming(ValueError):
    """The request cannot be delimited as HTTP/1.1 allows (answered 400 by the worker)."""


def _transfer_codings(head: bytes) -> list[bytes] | None:
    """The transfer codings of the (lower-cased) head, ``None`` without Transfer-Encoding."""
    found: list[bytes] | None = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip() == b"transfer-encoding":
            found = found or []
            found.extend(c.strip() for c in value.split(b",") if c.strip())
    return found


def request_status(reading: _Reading, max_body: int) -> tuple[bool, bool]:
    """(ready to hand over, send ``100 Continue`` now) for the bytes read so far."""
    buffer = reading.buffer
    if reading.header_end < 0:
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return len(buffer) > MAX_HEADER_BYTES, False
        reading.header_end = end + 4
        head = bytes(buffer[:end]).lower()
        codings = _transfer_codings(head)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip() == b"content-length":
                if codings is not None:
                    raise BadFraming("Send either Content-Length or Transfer-Encoding, not both.")
                try:
                    length = int(value.strip())
                except ValueError:
                    return True, False  # the parser answers 400
        if codings is not None:
            if codings != [b"chunked"]:
                raise BadFraming("The only transfer coding accepted is chunked.")
            reading.chunked = ChunkedBody(max_body)
        elif length > max_body:
            return True, False  # the application answers 413 without reading it
        reading.body_length = length
        reading.continued = b"\nexpect: 100-continue" not in head
    assert reading.body_length is not None
    if reading.chunked is not None:
        body = buffer[reading.header_end :]
        del buffer[reading.header_end :]
        try:
            reading.chunked.feed(body)
        except ChunkError:
            raise BadFraming("The chunked request body is malformed.") from None
        ready = reading.chunked.done
    else:
        ready = len(buffer) >= reading.header_end + reading.body_length
    send_continue = not ready and not reading.continued
    if send_continue:
        reading.continued = reading.continue_sent = True
    return ready, send_continue


_EXPECT = re.compile(rb"\r\nexpect[ \t]*:[^\r\n]*", re.IGNORECASE)


_TRANSFER_ENCODING = re.compile(rb"\r\ntransfer-encoding[ \t]*:[^\r\n]*", re.IGNORECASE)


def buffered_request(reading: _Reading) -> bytes:
    """The bytes to give the parser: without the ``Expect`` header once ``100 Continue`` has
    been sent here (the parser would send a second one); a chunked request as the same request
    with a Content-Length body (over the limit: a Content-Length over the limit, no body, and
    ``Connection: close``)."""
    chunked = reading.chunked
    if not reading.continue_sent and chunked is None:
        return bytes(reading.buffer)
    head = bytes(reading.buffer[: reading.header_end])
    if reading.continue_sent:
        head = _EXPECT.sub(b"", head, count=1)
    if chunked is None:
        return head + bytes(reading.buffer[reading.header_end :])
    head = _TRANSFER_ENCODING.sub(b"", head)[:-2]  # ends with the last field's CRLF
    if chunked.too_large:
        return head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (chunked.max_body + 1)
    return head + b"Content-Length: %d\r\n\r\n" % len(chunked.body) + chunked.body + chunked.rest


class BufferingWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker with request reading in the main loop (see module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading: dict[TConn, _Reading] = {}
        self._row = -1  # this worker's row in accept_balance.table (set after the fork)
        self._defer_since = 0.0  # when a waiting connection was first left to another worker
        self._recheck_at = 0.0  # when to look at the listeners again (0: not deferring)
        self._last_accept = 0.0
        self._last_shed = 0.0  # when a response last closed its connection to rebalance

    def init_process(self) -> None:
        table = accept_balance.table
        if table is not None:
            self._row = table.join(os.getpid())
        super().init_process()  # runs the main loop

    # -- the least loaded worker accepts (cds_hooks.accept_balance) ---------------------------

    def _leave_to_another(self) -> bool:
        """Whether a less loaded worker should take the waiting connection (then this worker
        stops listening until :data:`accept_balance.RECHECK_S` has passed)."""
        table = accept_balance.table
        if table is None or self._row < 0 or not self.alive:
            return False
        fewest = table.fewest_elsewhere(self._row)
        if fewest is None:
            return False
        now = time.monotonic()
        if self.nr_conns <= fewest and (
            now - self._last_accept >= self.nr_conns * accept_balance.PACE_S
        ):
            return False
        if not self._defer_since:
            self._defer_since = now
        elif now - self._defer_since >= accept_balance.MAX_DEFER_S:
            return False
        self._recheck_at = now + accept_balance.RECHECK_S
        ThreadWorker.set_accept_enabled(self, False)
        return True

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        table = accept_balance.table
        if table is not None and self._row >= 0:
            table.publish(self._row, self.nr_conns)
        if self._recheck_at:
            remaining = self._recheck_at - time.monotonic()
            if remaining > 0:
                timeout = min(timeout, remaining)
            else:
                self._recheck_at = 0.0
                if self.alive and self.nr_conns < self.worker_connections:  # not when stopping
                    ThreadWorker.set_accept_enabled(self, True)
        listening = self._accepting
        try:
            events = self.poller.select(timeout)
        except InterruptedError:
            return
        if (
            listening
            and self._defer_since
            and not any(key.fileobj in self.sockets for key, _ in events)
        ):
            self._defer_since = 0.0  # the connection it left was taken by another worker
        for key, _ in events:
            key.data(key.fileobj)

    def handle_request(self, req: Any, conn: TConn) -> Any:
        """In a thread: answer with ``Connection: close`` when this worker holds more than one
        connection over the least loaded one, so that the client reconnects and the less loaded
        worker takes it (connections pinned before balancing could act: a burst, a worker just
        restarted after recycling)."""
        if self._shed_one():
            req.must_close = True
        return super().handle_request(req, conn)

    def _shed_one(self) -> bool:
        table = accept_balance.table
        if table is None or self._row < 0:
            return False
        fewest = table.fewest_elsewhere(self._row)
        if fewest is None or self.nr_conns <= fewest + 1:
            return False
        now = time.monotonic()
        if now - self._last_shed < accept_balance.SHED_PAUSE_S:
            return False
        self._last_shed = now
        return True

    # -- reading without a thread -----------------------------------------------------------

    def accept(self, listener: socket.socket) -> None:
        if self._leave_to_another():
            return
        try:
            client_sock, client_addr = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self._defer_since = 0.0
        self._last_accept = time.monotonic()
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        self._start_reading(conn)

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        """A kept-alive connection has a next request coming: read it here too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._start_reading(conn)

    def _start_reading(self, conn: TConn) -> None:
        conn.sock.setblocking(False)
        self.reading[conn] = _Reading(time.monotonic() + request_read_timeout_s)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def _on_readable(self, conn: TConn, client: socket.socket) -> None:
        reading = self.reading[conn]
        try:
            data = client.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        if not data:  # the client went away before sending a whole request
            self._drop(conn)
            return
        reading.buffer += data
        try:
            ready, send_continue = request_status(reading, max_body_bytes)
        except BadFraming as exc:
            self._reject(conn, InvalidRequest(str(exc)))
            return
        if send_continue:
            try:
                client.send(CONTINUE)
            except OSError:
                self._drop(conn)
                return
        if ready:
            self._hand_over(conn, reading)

    def _hand_over(self, conn: TConn, reading: _Reading) -> None:
        self.poller.unregister(conn.sock)
        del self.reading[conn]
        conn.sock.setblocking(True)
        if conn.parser is None:
            conn.initialized = True
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(buffered_request(reading))
        conn.data_ready = True
        self.enqueue_req(conn)

    def _reject(self, conn: TConn, error: InvalidRequest) -> None:
        """Answer a request that cannot be delimited with a typed 400, then close."""
        body = orjson.dumps(error.to_operation_outcome())
        answer = (
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
            % len(body)
        ) + body
        with contextlib.suppress(OSError):
            conn.sock.send(answer)
            conn.sock.shutdown(socket.SHUT_WR)
            for _ in range(16):  # what the client already sent: closing on it would reset
                if not conn.sock.recv(READ_CHUNK):
                    break
        REQUESTS.labels(FRAMING_ENDPOINT, "-", "400").inc()
        self.log.warning("rejected a request: %s (%s)", error.code, error.message)
        self._drop(conn)

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        """gunicorn answers a request its parser refused (a malformed request line or header,
        a request line or header block over the limits); count it like the worker's own."""
        status = parser_status(exc)
        super().handle_error(req, client, addr, exc)
        if status is not None:
            REQUESTS.labels(FRAMING_ENDPOINT, "-", str(status)).inc()

    def _drop(self, conn: TConn) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)
        self.reading.pop(conn, None)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        """Also drop the connections whose request did not arrive in time (called by the main
        loop at least once a second)."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c, r in self.reading.items() if r.deadline <= now]:
            self._drop(conn)

    # -- graceful drain ---------------------------------------------------------------------

    def set_accept_enabled(self, enabled: bool) -> None:
        if enabled and self._recheck_at:
            return  # left to a less loaded worker until the recheck
        if not enabled and not self.alive and (self._accepting or self._recheck_at):
            # Stopping: take every connection already queued on the listeners first; they
            # are served before the worker exits instead of being reset with the sockets.
            for listener in self.sockets:
                for _ in range(self.worker_connections):
                    try:
                        client_sock, client_addr = listener.accept()
                    except OSError:
                        break
                    self.nr_conns += 1
                    conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
                    self._start_reading(conn)
            self._recheck_at = 0.0  # stopped listening for good, not for a recheck
        super().set_accept_enabled(enabled)
