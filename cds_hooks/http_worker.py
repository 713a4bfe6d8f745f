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
import selectors
import socket
import time
from functools import partial
from typing import Any

import orjson
from gunicorn import http
from gunicorn.workers.gthread import TConn, ThreadWorker

from cds_hooks import accept_balance
from cds_hooks.errors import InvalidRequest
from cds_hooks.http_framing import (
    BadFraming,
    Reading,
    buffered_request,
    parser_status,
    request_status,
)
from cds_hooks.observability import REQUESTS

#: Longest time a request may take to arrive, headers and body (nginx's client timeouts are
#: 60 s each by default; an EHR on a hospital network sends a hook call in milliseconds). Set
#: from ``CDS_REQUEST_READ_TIMEOUT_S`` by :func:`cds_hooks.server.gunicorn_options`.
request_read_timeout_s = 10.0
READ_CHUNK = 256 * 1024
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
#: The ``endpoint`` label of the requests this worker answers itself (bad framing): no route
#: was matched, since the request never reached the application.
FRAMING_ENDPOINT = "bad-framing"
#: Bodies above this are handed over unread (the application answers 413); set from
#: ``CDS_MAX_BODY_BYTES`` by :func:`cds_hooks.server.gunicorn_options` before the fork.
max_body_bytes = 5_000_000


class BufferingWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker with request reading in the main loop (see module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading: dict[TConn, Reading] = {}
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

    def _fewest_elsewhere(self) -> int | None:
        """The fewest connections another live worker holds (``None``: no balancing here)."""
        table = accept_balance.table
        if table is None or self._row < 0:
            return None
        return table.fewest_elsewhere(self._row)

    def _leave_to_another(self) -> bool:
        """Whether a less loaded worker should take the waiting connection (then this worker
        stops listening until :data:`accept_balance.RECHECK_S` has passed)."""
        fewest = self._fewest_elsewhere() if self.alive else None
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
        fewest = self._fewest_elsewhere()
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
        self.reading[conn] = Reading(time.monotonic() + request_read_timeout_s)
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

    def _hand_over(self, conn: TConn, reading: Reading) -> None:
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
