"""The chunked-body decoder of the worker's main loop: any split of the bytes decodes the same,
the size limit holds without keeping the excess, and anything that is not chunked framing is
refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_hooks.chunked import MAX_LINE, ChunkedBody, ChunkError


def framed(parts: list[bytes], trailer: bytes = b"") -> bytes:
    out = b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in parts if p)
    return out + b"0\r\n" + trailer + b"\r\n"


def feed_in_pieces(data: bytes, cuts: list[int], limit: int = 1_000) -> ChunkedBody:
    decoder = ChunkedBody(limit)
    start = 0
    for cut in sorted({c % (len(data) + 1) for c in cuts}):
        decoder.feed(data[start:cut])
        start = cut
    decoder.feed(data[start:])
    return decoder


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.binary(max_size=40), max_size=6),
    st.lists(st.integers(min_value=0, max_value=400), max_size=8),
    st.sampled_from([b"", b"X-Checksum: abc\r\n"]),
)
def test_any_split_of_the_bytes_decodes_to_the_body(parts, cuts, trailer):
    data = framed(parts, trailer) + b"GET /next"
    decoder = feed_in_pieces(data, cuts)
    assert decoder.done
    assert bytes(decoder.body) == b"".join(parts)
    assert decoder.rest == b"GET /next"


def test_chunk_extensions_and_upper_case_hex_are_read() -> None:
    decoder = ChunkedBody(100)
    decoder.feed(b"A;name=value\r\n0123456789\r\n0\r\n\r\n")
    assert (decoder.done, bytes(decoder.body)) == (True, b"0123456789")


def test_incomplete_framing_waits_for_more() -> None:
    decoder = ChunkedBody(100)
    decoder.feed(b"5\r\nab")
    assert not decoder.done
    decoder.feed(b"cde\r\n0\r\n")
    assert not decoder.done  # the empty line that ends the trailer section is still missing
    decoder.feed(b"\r\n")
    assert (decoder.done, bytes(decoder.body)) == (True, b"abcde")


def test_over_the_limit_the_body_is_read_to_its_end_but_not_kept() -> None:
    decoder = ChunkedBody(10)
    decoder.feed(framed([b"a" * 8, b"b" * 8, b"c" * 5000]))
    assert decoder.done and decoder.too_large
    assert decoder.size == 5016
    assert decoder.body == bytearray()


@pytest.mark.parametrize(
    "data",
    [
        b"zz\r\nabc\r\n0\r\n\r\n",  # not hexadecimal
        b"-5\r\nabcde\r\n0\r\n\r\n",
        b"5\r\nabcdeXY0\r\n\r\n",  # no CRLF after the data
        b"1" * 16 + b"\r\n",  # a size beyond any limit
        b"0\r\nnot a trailer\r\n\r\n",
        b"1" * (MAX_LINE + 10),  # a size line that never ends
    ],
)
def test_malformed_framing_is_refused(data: bytes) -> None:
    with pytest.raises(ChunkError):
        ChunkedBody(1_000).feed(data)
