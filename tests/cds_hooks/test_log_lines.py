"""The JSON log line is the standard library's encoding of the record, byte for byte, whichever
encoder writes it (orjson for plain values, the standard library otherwise)."""

from __future__ import annotations

import enum
import json
import logging
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from cds_hooks.logs import JsonFormatter, encode_line

STDLIB = json.JSONEncoder(default=str, separators=(",", ":"))


class Colour(enum.Enum):
    RED = 1


class Code(str, enum.Enum):  # noqa: UP042 - str() is "Code.BAD", the encoders write "bad"
    BAD = "bad"


class Kind(enum.StrEnum):
    GOOD = "good"


values = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(max_codepoint=127)),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.floats(min_value=-1e-3, max_value=1e-3),
    st.booleans(),
    st.none(),
    st.sampled_from(
        [
            datetime(2026, 12, 1, tzinfo=UTC),
            Colour.RED,
            Code.BAD,
            Kind.GOOD,
            (1, "a"),
            ["x"],
            {"k": 1},
        ]
    ),
)


class Name(str):
    pass


keys = st.one_of(st.text(), st.text().map(Name), st.sampled_from([Kind.GOOD]))


@settings(max_examples=2000, deadline=None)
@given(st.dictionaries(keys, values, max_size=12))
def test_a_line_is_the_standard_librarys_encoding(payload):
    assert encode_line(payload) == STDLIB.encode(payload)


def test_an_access_line_is_written_whole_with_its_extra_fields_in_order():
    fields = {
        "method": "POST",
        "endpoint": "/cds-services/<service_id>",
        "service": "sarcoma-order-sign",
        "status": 200,
        "duration_ms": 2.51,
        "hook_instance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "prefetch": "patient:prefetch,reports:not-requested",
        "note": "café \x7f",
    }
    record = logging.getLogger("cds_hooks.access").makeRecord(
        "cds_hooks.access", logging.INFO, "(unknown file)", 0, "request", (), None, extra=fields
    )
    line = JsonFormatter().format(record)
    assert line.isascii() and "\\u00e9" in line and "\\u007f" in line
    parsed = json.loads(line)
    assert list(parsed) == ["ts", "level", "logger", "msg", *fields]
    assert parsed["duration_ms"] == 2.51 and parsed["note"] == "café \x7f"
