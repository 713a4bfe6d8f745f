"""The HTTP transport of the FHIR batch (:meth:`cds_hooks.fhir_client.FhirClient.batch`): keep-alive
requests on the standard library's http.client.

A hook call without prefetch sends its reads to the FHIR server as one batch ``POST``; through
``requests`` that one request cost the worker 0.8 ms of CPU (request preparation, urllib3's
URL re-encoding, cookie and hook machinery), here 0.37 ms. What the server sees is the same:
the URL percent-encoded as ``requests`` encodes it, ``Accept``, ``Authorization``,
``Content-Type`` and ``Accept-Encoding: gzip``; TLS verified against the same CA bundle
(certifi) with host-name checks; no proxy from the environment, no redirect followed.

Connections are kept per origin (scheme, host, port) and reused; one found closed by the server
while idle is replaced, and a request that fails on a reused connection before any answer is
sent once more on a new one (the batch holds only reads; the server may close an idle
connection at any moment). Failures raise :class:`FhirUnavailable` with the stable reasons of
:func:`cds_hooks.fhir_client.bounded_get`; the caller then reads each key with its own GET.
"""

from __future__ import annotations

import http.client
import re
import select
import ssl
import threading
import time
import weakref
import zlib
from urllib.parse import urlsplit

import certifi
from requests.utils import requote_uri
from urllib3.util.url import parse_url

CHUNK = 65536
USER_AGENT = "sarcoma-cds"
#: Characters that ``requests`` sends as they are (its ``requote_uri`` safe set and the
#: unreserved characters, less ``[``, ``]`` and ``#``, which urllib3 would rewrite), and the
#: ``%`` of the ``%7C`` put for ``|`` (a URL that had a ``%`` of its own is not checked here).
_SENT_AS_IS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,/:;=?@%]*")

Origin = tuple[str, str, int]


class FhirUnavailable(Exception):
    """The FHIR server could not give the data (refused, timed out, too large, not JSON)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def request_target(url: str) -> tuple[Origin, str] | None:
    """The origin and request target (path and query) of ``url``, percent-encoded exactly as
    ``requests`` (``requote_uri``, then urllib3) would send it; ``None`` if it is not an
    http(s) URL with a host."""
    quoted = url.replace("|", "%7C")
    if "%" in url or not _SENT_AS_IS.fullmatch(quoted):
        # Rare (FHIR servers' own next links, unusual ids): the exact two-step re-encoding.
        quoted = parse_url(requote_uri(url)).url
    try:
        parts = urlsplit(quoted)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    port = port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (parts.scheme, parts.hostname, port), target


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle connection that is readable was closed by the server (or sent junk)."""
    sock = conn.sock
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class FhirHttp:
    """Keep-alive GETs with a time budget and a size cap; one instance per process, shared by
    the threads that fetch prefetch keys."""

    def __init__(self, max_idle_per_origin: int = 10, ssl_context: ssl.SSLContext | None = None):
        self._lock = threading.Lock()
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}
        self._max_idle = max_idle_per_origin
        self._ssl = ssl_context or ssl.create_default_context(cafile=certifi.where())
        # Idle connections are closed when the transport goes (as urllib3's pools do).
        weakref.finalize(self, _close_all, self._idle)

    def _checkout(self, origin: Origin) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle.get(origin)
            conn = idle.pop() if idle else None
        while conn is not None and _dropped(conn):
            conn.close()
            with self._lock:
                idle = self._idle.get(origin)
                conn = idle.pop() if idle else None
        return conn

    def _checkin(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self._max_idle:
                idle.append(conn)
                return
        conn.close()

    def _connect(self, origin: Origin, timeout_s: float) -> http.client.HTTPConnection:
        scheme, host, port = origin
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout_s, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
        conn.connect()
        return conn

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        deadline: float,
        connect_timeout_s: float,
        max_bytes: int,
        body: bytes | None = None,
    ) -> bytes:
        """Send ``method url`` (with ``body``) and return a 200 body (decoded when gzip or
        deflate): no redirects followed, the body capped at ``max_bytes`` and the exchange
        bounded by ``deadline`` (``time.monotonic``)."""
        found = request_target(url)
        if found is None:
            raise FhirUnavailable("connection-failed")
        origin, target = found
        sent = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip", **headers}
        conn = self._checkout(origin)
        reused = conn is not None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if conn is not None:
                    conn.close()
                raise FhirUnavailable("timeout")
            try:
                if conn is None:
                    conn = self._connect(origin, min(remaining, connect_timeout_s))
                assert conn.sock is not None
                conn.sock.settimeout(remaining)
                conn.request(method, target, body=body, headers=sent)
                response = conn.getresponse()
            except TimeoutError:
                if conn is not None:
                    conn.close()
                raise FhirUnavailable("timeout") from None
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                if reused:  # the server closed the idle connection: once more, on a new one
                    conn, reused = None, False
                    continue
                raise FhirUnavailable("connection-failed") from None
            break
        try:
            answer = self._read(response, deadline, max_bytes)
        except BaseException:
            conn.close()
            raise
        if response.will_close or not response.isclosed():
            conn.close()
        else:
            self._checkin(origin, conn)
        return answer

    @staticmethod
    def _read(response: http.client.HTTPResponse, deadline: float, max_bytes: int) -> bytes:
        status = response.status
        if 300 <= status < 400:
            raise FhirUnavailable("redirect-refused")
        if status != 200:
            raise FhirUnavailable(f"http-{status}")
        encoding = (response.getheader("Content-Encoding") or "").strip().lower()
        decoder = None
        if encoding in {"gzip", "x-gzip", "deflate"}:
            # zlib or gzip header detected; a raw deflate stream is retried below
            decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)
        body = bytearray()
        try:
            while chunk := response.read(CHUNK):
                if decoder is not None:
                    try:
                        chunk = decoder.decompress(chunk, max_bytes - len(body) + 1)
                    except zlib.error:
                        if encoding != "deflate" or body:
                            raise FhirUnavailable("not-json") from None
                        decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                        chunk = decoder.decompress(chunk, max_bytes - len(body) + 1)
                    if decoder.unconsumed_tail:
                        raise FhirUnavailable("response-too-large")
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise FhirUnavailable("response-too-large")
                if time.monotonic() > deadline:
                    raise FhirUnavailable("timeout")
        except TimeoutError:
            raise FhirUnavailable("timeout") from None
        except zlib.error:
            raise FhirUnavailable("not-json") from None
        except (OSError, http.client.HTTPException):
            raise FhirUnavailable("connection-failed") from None
        return bytes(body)

    def close(self) -> None:
        with self._lock:
            _close_all(self._idle)


def _close_all(idle: dict[Origin, list[http.client.HTTPConnection]]) -> None:
    for conns in idle.values():
        for conn in conns:
            conn.close()
    idle.clear()
