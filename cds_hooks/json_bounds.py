"""Bounded JSON parsing of request bodies: size, nesting depth, string length, items per array
or object, and the total number of values.

The work a request may cause is bounded before any of it is spent walking or validating the
parsed value. orjson parses at C speed; the string-length check runs on the raw bytes
(``bytes.split``), and the structural bounds on the parsed value one nesting level at a time
with ``gc.get_referents`` (a C loop over every container of a level), so their cost is 5-10 %
of the parse itself (bench/RESULTS.md).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from itertools import compress, repeat
from typing import Any

import orjson

from cds_hooks.errors import InvalidJson, PayloadTooLarge


@dataclass(frozen=True, slots=True)
class JsonLimits:
    max_bytes: int
    max_depth: int
    max_string_length: int
    max_items: int
    max_values: int


@dataclass(frozen=True, slots=True)
class Shape:
    """The structure of a parsed JSON value.

    ``depth`` is the nesting of arrays and objects, capped at the depth limit plus one;
    ``max_items`` counts the members of the largest array or object (an empty container
    counts as 1); ``values`` is ``1 + sum(max(len(container), 1))`` over all containers: every
    value once, every empty container once more.
    """

    depth: int
    max_items: int
    values: int


def parse_json(raw: bytes, limits: JsonLimits) -> Any:
    """Parse ``raw`` within ``limits``; a body outside them raises a typed 400 (413 for size)."""
    if len(raw) > limits.max_bytes:
        raise PayloadTooLarge()
    try:
        # orjson: a strict RFC 8259 parser (no NaN/Infinity, UTF-8 only) about twice as fast as
        # the standard library on FHIR-heavy bodies; it refuses nesting beyond 1024 levels.
        value = orjson.loads(raw)
    except RecursionError:
        raise InvalidJson("The request body nests deeper than this service accepts.") from None
    except (orjson.JSONDecodeError, ValueError, UnicodeDecodeError):
        raise InvalidJson() from None
    if len(raw) > limits.max_string_length and longest_json_string(raw) > (
        limits.max_string_length
    ):
        raise InvalidJson("A JSON string is longer than this service accepts.")
    if within(value, limits):
        return value
    shape = measure(value, limits.max_depth, limits.max_items)
    if shape.depth > limits.max_depth:
        raise InvalidJson("The request body nests deeper than this service accepts.")
    if shape.max_items > limits.max_items:
        raise InvalidJson(
            f"A JSON array or object holds more than {limits.max_items} items, "
            "more than this service accepts."
        )
    if shape.values > limits.max_values:
        raise InvalidJson(
            f"The request body holds more than {limits.max_values} JSON values, "
            "more than this service accepts."
        )
    return value


# The structural bounds walk the parsed value level by level. ``gc.get_referents`` of a list
# gives its items, of a dict its values (and, for some dict layouts, its keys too, which are
# strings); strings, numbers, booleans and None give nothing. So the children of a whole level
# are one C call, and strings are never looked at.
_CONTAINERS = (dict, list)


def _containers(level: list[Any]) -> list[Any]:
    return list(compress(level, map(isinstance, level, repeat(_CONTAINERS))))


def measure(value: Any, max_depth: int, max_items: int | None = None) -> Shape:
    """Depth, largest container and value count of a parsed JSON ``value``.

    The walk stops after ``max_depth + 1`` levels, or as soon as a container exceeds
    ``max_items`` (the value count then covers the levels walked).
    """
    containers = _containers([value])
    depth = largest = 0
    values = 1
    while containers and depth <= max_depth:
        sizes = list(map(len, containers))
        largest = max(largest, max(sizes) or 1)
        values += sum(sizes) + sizes.count(0)
        depth += 1
        if max_items is not None and largest > max_items:
            break
        containers = _containers(gc.get_referents(*containers))
    return Shape(depth, largest, values)


def within(value: Any, limits: JsonLimits) -> bool:
    """True when the parsed JSON ``value`` is within the depth, items and values limits: the
    same verdict as :func:`measure`, several times cheaper (False sends :func:`parse_json` to
    :func:`measure`, which says which limit is exceeded).

    Each level is only the list of the previous level's children, built in C; nothing is
    called per value. A level with children holds a container, so the number of such levels
    is the depth (plus one when the last level holds an empty container). The containers of a
    level hold at most as many items as the next level has entries, so they are counted one by
    one only when that exceeds ``max_items``; likewise every value and every empty container
    is an entry of some level, so the values are counted exactly only when twice the entries
    exceed ``max_values``.
    """
    if limits.max_items < 1:  # an empty container counts as one item
        return not _containers([value])
    level: list[Any] = [value]
    entries = 1
    depth = 0
    while True:
        below = gc.get_referents(*level)
        if not below:
            break
        depth += 1
        if depth > limits.max_depth:
            return False
        crowded = len(below) > limits.max_items
        if crowded and max(map(len, _containers(level))) > limits.max_items:
            return False
        entries += len(below)
        level = below
    if depth == limits.max_depth and _containers(level):
        return False  # an empty container one level deeper
    if 2 * entries <= limits.max_values:
        return True
    return measure(value, limits.max_depth).values <= limits.max_values


def _unescape_quotes(raw: bytes) -> bytes:
    """Drop escape sequences so that every remaining quote delimits a string."""
    if b"\\" not in raw:
        return raw
    return raw.replace(b"\\\\", b"").replace(b'\\"', b"")


def longest_json_string(raw: bytes) -> int:
    """Length in bytes of the longest string (member names included), escapes collapsed."""
    strings = _unescape_quotes(raw).split(b'"')[1::2]
    return max(map(len, strings), default=0)
