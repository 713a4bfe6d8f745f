"""What a complete HTTP/1.1 request is, judged from the bytes read so far.

:class:`cds_hooks.http_worker.BufferingWorker` reads requests in its main loop; these helpers
tell it when a request (headers, then a Content-Length or chunked body) has fully arrived,
whether to send ``100 Continue``, what framing to refuse, and which bytes to give gunicorn's
parser once the request is complete.
"""

from __future__ import annotations

import re

from gunicorn.http import errors as http_errors

from cds_hooks.chunked import ChunkedBody, ChunkError

#: Largest header block buffered before the parser decides (it refuses what is over its limits).
MAX_HEADER_BYTES = 64 * 1024


class Reading:
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


def request_status(reading: Reading, max_body: int) -> tuple[bool, bool]:
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


def buffered_request(reading: Reading) -> bytes:
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
