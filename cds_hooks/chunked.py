"""Incremental decoding of a chunked request body (RFC 9112 section 7.1), for the worker's main
loop (:mod:`cds_hooks.http_worker`).

The bytes are fed as they arrive; the decoder keeps only the decoded body (up to the size limit)
and the tail of an incomplete line. Past the limit it keeps reading and discarding, so that the
client has sent its whole request when it is answered 413 (closing a socket with unread data
resets the connection, and the client would lose the answer). Anything that is not chunked
framing raises :class:`ChunkError`.
"""

from __future__ import annotations

import re

#: Longest chunk-size line (with extensions) or trailer line accepted.
MAX_LINE = 4096
#: Most trailer fields accepted (they are read and dropped).
MAX_TRAILERS = 100
_HEX = re.compile(rb"[0-9A-Fa-f]{1,15}")

_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class ChunkError(ValueError):
    """The body is not valid chunked framing."""


class ChunkedBody:
    """Decoder state of one chunked body."""

    __slots__ = ("body", "max_body", "remaining", "rest", "size", "state", "tail", "trailers")

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.body = bytearray()
        self.size = 0  # decoded bytes announced so far
        self.state = _SIZE
        self.remaining = 0  # bytes still to come in the current chunk
        self.tail = bytearray()  # an incomplete line or delimiter
        self.trailers = 0
        self.rest = b""  # what followed the body (a pipelined request)

    @property
    def done(self) -> bool:
        return self.state == _DONE

    @property
    def too_large(self) -> bool:
        return self.size > self.max_body

    def feed(self, data: bytes | bytearray) -> None:
        """Decode ``data``, the next bytes after the request head."""
        if self.state == _DONE:
            self.rest += bytes(data)
            return
        buf = self.tail + data
        i = 0
        end = len(buf)
        while self.state != _DONE:
            if self.state == _DATA:
                take = min(self.remaining, end - i)
                if not take:
                    break
                if not self.too_large:
                    self.body += buf[i : i + take]
                i += take
                self.remaining -= take
                if self.remaining:
                    break
                self.state = _DATA_END
            elif self.state == _DATA_END:
                if end - i < 2:
                    break
                if buf[i : i + 2] != b"\r\n":
                    raise ChunkError("chunk data not followed by CRLF")
                i += 2
                self.state = _SIZE
            else:
                eol = buf.find(b"\r\n", i, i + MAX_LINE + 2)
                if eol < 0:
                    if end - i > MAX_LINE:
                        raise ChunkError("chunk-size or trailer line too long")
                    break
                line = bytes(buf[i:eol])
                i = eol + 2
                if self.state == _TRAILER:
                    if not line:
                        self.state = _DONE
                    else:
                        self.trailers += 1
                        if self.trailers > MAX_TRAILERS or b":" not in line:
                            raise ChunkError("malformed trailer section")
                    continue
                size_text = line.split(b";", 1)[0].rstrip(b" \t")
                if not _HEX.fullmatch(size_text):
                    raise ChunkError("malformed chunk size")
                size = int(size_text, 16)
                if size == 0:
                    self.state = _TRAILER
                    continue
                self.size += size
                if self.too_large:
                    self.body = bytearray()  # answered 413: the body is no longer kept
                self.remaining = size
                self.state = _DATA
        if self.state == _DONE:
            self.rest = bytes(buf[i:])
            self.tail = bytearray()
        else:
            self.tail = bytearray(buf[i:])
